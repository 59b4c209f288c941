// The ranked vessel list with its filters and paging. Ranking and filtering happen in the API.

import { api } from "./api.js";
import { $, clear, debounce, fmtNumber, h, scoreBadge } from "./dom.js";
import { EVENT_TYPES } from "./theme.js";

const PAGE = 50;

export class VesselList {
  constructor(root, { onSelect, getBbox }) {
    this.root = root;
    this.onSelect = onSelect;
    this.getBbox = getBbox;
    this.items = [];
    this.total = 0;
    this.selected = null;
    this.request = 0;
    this.listEl = $("[data-testid=vessel-list]", root);
    this.countEl = $("[data-testid=vessel-count]", root);
    this.moreEl = $("[data-testid=vessel-more]", root);
    this.form = $("[data-testid=vessel-filters]", root);
    this.scoreOut = $("#f-min-score-value", root);

    const typeSelect = $("#f-event-type", root);
    for (const t of EVENT_TYPES) typeSelect.append(h("option", { value: t.type }, t.label));

    const reload = debounce(() => this.load(), 250);
    this.form.addEventListener("input", (e) => {
      if (e.target.id === "f-min-score") this.scoreOut.textContent = e.target.value;
      if (e.target.id === "f-flag") e.target.value = e.target.value.toUpperCase().replace(/[^A-Z]/g, "").slice(0, 2);
      reload();
    });
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.load(); });
    this.form.addEventListener("reset", () => setTimeout(() => {
      this.scoreOut.textContent = $("#f-min-score", root).value;
      this.load();
    }));
    this.moreEl.addEventListener("click", () => this.load({ append: true }));
  }

  setLists(names) {
    const select = $("#f-list", this.root);
    for (const name of names) select.append(h("option", { value: name }, name));
  }

  get inView() {
    return $("#f-in-view", this.root).checked;
  }

  params() {
    const flag = $("#f-flag", this.root).value.trim();
    const minScore = Number($("#f-min-score", this.root).value);
    return {
      min_score: minScore > 0 ? minScore : null,
      list: $("#f-list", this.root).value || null,
      flag: flag.length === 2 ? flag : null,
      event_type: $("#f-event-type", this.root).value || null,
      bbox: this.inView ? this.getBbox() : null,
    };
  }

  async load({ append = false } = {}) {
    const request = ++this.request;
    const offset = append ? this.items.length : 0;
    this.moreEl.disabled = true;
    this.root.classList.add("loading");
    try {
      const page = await api.vessels({ ...this.params(), limit: PAGE, offset });
      if (request !== this.request) return;
      this.items = append ? this.items.concat(page.items) : page.items;
      this.total = page.total;
      this.render(append ? page.items : null);
    } catch (error) {
      if (request !== this.request) return;
      this.items = [];
      this.total = 0;
      clear(this.listEl).append(h("li", { class: "list-message", "data-testid": "vessel-error" }, error.message));
      this.countEl.textContent = "";
      this.moreEl.hidden = true;
    } finally {
      if (request === this.request) this.root.classList.remove("loading");
    }
  }

  row(item) {
    const reason = item.reasons?.[0];
    const lists = Array.isArray(item.lists) ? item.lists : String(item.lists || "").split(",").map((x) => x.trim()).filter(Boolean);
    const meta = [`MMSI ${item.mmsi}`, item.imo ? `IMO ${item.imo}` : null, item.flag ? String(item.flag).toUpperCase() : null]
      .filter(Boolean).join(" · ");
    const li = h("li", {
      class: `vessel-row${String(item.mmsi) === String(this.selected) ? " selected" : ""}`,
      "data-testid": "vessel-row", "data-mmsi": item.mmsi, tabindex: 0, role: "button",
      "aria-label": `${item.name || "unnamed vessel"}, MMSI ${item.mmsi}, score ${fmtNumber(item.score, 0)}`,
    },
    h("span", { class: "rank" }, item.rank ?? ""),
    h("div", { class: "vessel-main" },
      h("div", { class: "vessel-name", "data-testid": "vessel-name" }, item.name || "(no name)"),
      h("div", { class: "vessel-meta" }, meta),
      reason ? h("div", { class: "vessel-reason", title: reason.text || "" }, reason.text || reason.feature) : null,
      lists.length ? h("div", { class: "vessel-tags" }, lists.map((name) => h("span", { class: "tag tag-danger" }, name))) : null),
    scoreBadge(item.score, { "data-testid": "vessel-score" }));
    const open = () => this.onSelect(item.mmsi);
    li.addEventListener("click", open);
    li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
    return li;
  }

  render(appended) {
    if (!appended) clear(this.listEl);
    const rows = (appended || this.items).map((item) => this.row(item));
    this.listEl.append(...rows);
    if (!this.items.length) this.listEl.append(h("li", { class: "list-message" }, "No vessel matches these filters."));
    this.countEl.textContent = `${fmtNumber(this.items.length)} of ${fmtNumber(this.total)} vessels`;
    this.moreEl.hidden = this.items.length >= this.total;
    this.moreEl.disabled = false;
  }

  select(mmsi) {
    this.selected = mmsi === null || mmsi === undefined ? null : String(mmsi);
    for (const li of this.listEl.querySelectorAll("[data-testid=vessel-row]")) {
      const on = li.dataset.mmsi === this.selected;
      li.classList.toggle("selected", on);
      if (on) li.scrollIntoView({ block: "nearest" });
    }
  }
}
