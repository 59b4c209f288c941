"""Find input files, open archives, fingerprint content and sniff the format."""

from __future__ import annotations

import bz2
import glob
import gzip
import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shadowtrace.errors import InputError

FORMATS = ("nmea", "dma", "noaa", "csv", "parquet")
FORMATS_HELP = (
    "supported formats: nmea (raw !AIVDM/!AIVDO sentences), dma (Danish Maritime Authority CSV), "
    "noaa (NOAA MarineCadastre CSV), csv (any CSV, with --columns mmsi=..,ts=..,lat=..,lon=..), "
    "parquet (with canonical column names or --columns)"
)

DMA_HEADER_START = "# timestamp,type of mobile,mmsi"
NOAA_REQUIRED = ("mmsi", "basedatetime", "lat", "lon")


@dataclass(frozen=True)
class Source:
    """One readable input: a plain file, a compressed file, or a member of a zip archive."""

    path: Path
    member: str | None = None  # zip member name
    compression: str | None = None  # gzip | bz2 | zip | None

    @property
    def name(self) -> str:
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    def open(self) -> BinaryIO:
        """Open the decompressed byte stream."""
        try:
            if self.compression == "gzip":
                return gzip.open(self.path, "rb")  # type: ignore[return-value]
            if self.compression == "bz2":
                return bz2.open(self.path, "rb")  # type: ignore[return-value]
            if self.compression == "zip":
                archive = zipfile.ZipFile(self.path)
                assert self.member is not None
                return archive.open(self.member)  # type: ignore[return-value]
            return open(self.path, "rb")
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot open: {exc}", where=self.name) from exc

    def size(self) -> int:
        """Bytes of the stored (possibly compressed) input, for progress bars."""
        if self.compression == "zip":
            with zipfile.ZipFile(self.path) as archive:
                return archive.getinfo(self.member or "").file_size
        return self.path.stat().st_size

    def fingerprint(self) -> str:
        """sha256 of the stored bytes (of the member's bytes for zip members)."""
        digest = hashlib.sha256()
        try:
            stream: BinaryIO = self.open() if self.compression == "zip" else self.path.open("rb")
            with stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read: {exc}", where=self.name) from exc
        return digest.hexdigest()


def _compression_of(path: Path) -> str | None:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic[:2] == b"\x1f\x8b":
        return "gzip"
    if magic[:3] == b"BZh":
        return "bz2"
    if magic == b"PK\x03\x04":
        return "zip"
    return None


def _sources_of_file(path: Path) -> Iterator[Source]:
    compression = _compression_of(path)
    if compression != "zip":
        yield Source(path, None, compression)
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
    except zipfile.BadZipFile as exc:
        raise InputError(f"broken zip archive: {exc}", where=str(path)) from exc
    for member in sorted(members, key=lambda m: m.filename):
        if Path(member.filename).name.startswith(".") or "__MACOSX" in member.filename:
            continue
        yield Source(path, member.filename, "zip")


def expand(inputs: list[str]) -> list[Source]:
    """Files, folders (recursively) and glob patterns to a sorted list of sources."""
    sources: list[Source] = []
    for given in inputs:
        matches = sorted(glob.glob(given, recursive=True)) if glob.has_magic(given) else [given]
        if not matches:
            raise InputError("no file matches this pattern", where=given)
        for match in matches:
            path = Path(match)
            if path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            elif path.exists():
                files = [path]
            else:
                raise InputError("no such file or folder", where=given)
            for file in files:
                sources.extend(_sources_of_file(file))
    return sources


def head_lines(source: Source, max_bytes: int = 256 * 1024) -> list[str]:
    """The first lines of a source as text, for sniffing and error messages."""
    try:
        with source.open() as stream:
            data = stream.read(max_bytes)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(
            f"cannot read the data: {exc}",
            where=source.name,
            hint="the file may be truncated or not the archive type its name suggests",
        ) from exc
    if data.startswith(b"PAR1"):
        return ["PAR1"]
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    if len(data) == max_bytes and lines:
        lines = lines[:-1]  # last line may be cut
    return lines


def text_encoding(source: Source, max_bytes: int = 1 << 20) -> str:
    """utf-8 when the start of the input decodes as UTF-8, else latin-1 (never fails)."""
    with source.open() as stream:
        data = stream.read(max_bytes)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 4:  # not merely a character cut at the end of the sample
            return "latin-1"
    return "utf-8"


def looks_binary(lines: list[str]) -> bool:
    sample = "\n".join(lines[:50])
    if not sample:
        return False
    bad = sum(1 for ch in sample if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\r\n"))
    return bad / len(sample) > 0.05


def sniff_format(source: Source, lines: list[str]) -> str:
    """Detect the format from content; raise InputError naming the formats if unknown."""
    if lines == ["PAR1"]:
        return "parquet"
    content = [line for line in lines if line.strip()]
    if not content:
        raise InputError("the input is empty", where=source.name)
    if looks_binary(content):
        raise InputError(
            "the input is binary data, not text AIS", where=source.name, hint=FORMATS_HELP
        )
    first = content[0].strip().lower()
    if first.startswith(DMA_HEADER_START) or first.startswith(DMA_HEADER_START[2:]):
        return "dma"
    header = [col.strip().strip('"') for col in first.split(",")]
    if all(col in header for col in NOAA_REQUIRED):
        return "noaa"
    uncommented = [line for line in content if not line.lstrip().startswith("#")][:200]
    nmea_like = sum(1 for line in uncommented if _is_nmea_line(line))
    if nmea_like and nmea_like >= 0.2 * len(uncommented):
        return "nmea"
    if "," in first or "\t" in first or ";" in first:
        return "csv"
    raise InputError("unknown format", where=source.name, hint=FORMATS_HELP)


def _is_nmea_line(line: str) -> bool:
    text = line.lstrip()
    if "VDM," in text or "VDO," in text:
        return True
    # any NMEA 0183 sentence ($GPGGA, $PGHP, ...): AIS logs often mix them in
    return text.startswith("$") and "*" in text and text[1:6].isalnum()
