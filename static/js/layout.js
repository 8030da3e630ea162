// The page's layout: the side bar (shown or collapsed) and the chat's width (dragged, or keyed on its
// separator), both remembered in localStorage; on a phone, the one view on show (floor, chats or
// people), picked in the tab bar, whose badges say what waits (unread messages, a call ringing).
// office.css draws each arrangement; this module only sets the attributes and properties it reads.

const STORE_KEY = "vo.layout";
const PHONE = window.matchMedia("(max-width: 760px)");
const CHAT_MIN = 420; // the composer stays at least 400 px wide
const CHAT_MAX = 760;
const FLOOR_MIN = 360; // what the floor keeps, however wide the chat is made
const STEP = 24;

export class Layout {
  constructor(office) {
    this.office = office;
    this.root = document.getElementById("layout");
    this.sidebar = document.getElementById("sidebar");
    this.sidebarToggle = document.getElementById("sidebar-toggle");
    this.resizer = document.getElementById("chat-resizer");
    this.panels = document.getElementById("panels");
    this.tabs = [...document.querySelectorAll("#tabbar [data-view]")];
    this.saved = this.read();
    this.setSidebar(this.saved.sidebar !== "collapsed", { remember: false });
    this.sidebarToggle.addEventListener("click", () => this.setSidebar(this.root.classList.contains("is-sidebar-collapsed")));
    this.setupResizer();
    this.setupViews();
  }

  read() {
    try {
      return JSON.parse(localStorage.getItem(STORE_KEY)) || {};
    } catch (error) {
      return {};
    }
  }

  remember(change) {
    this.saved = { ...this.saved, ...change };
    for (const [key, value] of Object.entries(this.saved)) if (value == null) delete this.saved[key];
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(this.saved));
    } catch (error) {
      // private mode or full: the choice lasts until the page goes
    }
  }

  // -- the side bar ------------------------------------------------------------------------------

  setSidebar(open, { remember = true } = {}) {
    // Collapsing applies to laptop widths; a phone shows the side bar's parts as its own views.
    this.root.classList.toggle("is-sidebar-collapsed", !open);
    this.sidebarToggle.setAttribute("aria-expanded", String(open));
    this.sidebarToggle.title = open ? "Hide the side bar" : "Show the side bar";
    if (remember) this.remember({ sidebar: open ? null : "collapsed" });
    this.applyChatWidth();
  }

  // -- the chat's width ----------------------------------------------------------------------------

  chatBounds() {
    const sidebar = this.root.classList.contains("is-sidebar-collapsed") ? 0 : this.sidebar.getBoundingClientRect().width;
    // The page's padding, the gaps and the separator take 68 px.
    const max = Math.max(CHAT_MIN, Math.floor(Math.min(CHAT_MAX, window.innerWidth - sidebar - FLOOR_MIN - 68)));
    return { min: CHAT_MIN, max };
  }

  chatWidth() {
    return Math.round(this.panels.getBoundingClientRect().width);
  }

  setChatWidth(width, { remember = true } = {}) {
    const { min, max } = this.chatBounds();
    const clamped = Math.round(Math.min(max, Math.max(min, width)));
    document.documentElement.style.setProperty("--chat-w", `${clamped}px`);
    this.describeResizer();
    if (remember) this.remember({ chatWidth: clamped });
  }

  /** The remembered width, within what this window allows (it may have been chosen in a wider one). */
  applyChatWidth() {
    if (this.saved.chatWidth) this.setChatWidth(this.saved.chatWidth, { remember: false });
    else this.describeResizer();
  }

  resetChatWidth() {
    document.documentElement.style.removeProperty("--chat-w");
    this.remember({ chatWidth: null });
    this.describeResizer();
  }

  describeResizer() {
    const { min, max } = this.chatBounds();
    this.resizer.setAttribute("aria-valuemin", String(min));
    this.resizer.setAttribute("aria-valuemax", String(max));
    this.resizer.setAttribute("aria-valuenow", String(Math.min(max, Math.max(min, this.chatWidth() || min))));
  }

  setupResizer() {
    const resizer = this.resizer;
    let dragging = false;
    resizer.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      dragging = true;
      resizer.setPointerCapture(event.pointerId);
      resizer.classList.add("is-dragging");
      event.preventDefault();
    });
    resizer.addEventListener("pointermove", (event) => {
      if (!dragging) return;
      const right = this.panels.getBoundingClientRect().right;
      this.setChatWidth(right - event.clientX - resizer.getBoundingClientRect().width / 2, { remember: false });
    });
    const stop = () => {
      if (!dragging) return;
      dragging = false;
      resizer.classList.remove("is-dragging");
      this.remember({ chatWidth: this.chatWidth() });
    };
    resizer.addEventListener("pointerup", stop);
    resizer.addEventListener("pointercancel", stop);
    resizer.addEventListener("dblclick", () => this.resetChatWidth());
    resizer.addEventListener("keydown", (event) => {
      const { min, max } = this.chatBounds();
      const now = this.chatWidth();
      const to = { ArrowLeft: now + STEP, ArrowRight: now - STEP, Home: min, End: max }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      this.setChatWidth(to);
    });
    window.addEventListener("resize", () => this.applyChatWidth());
    this.applyChatWidth();
  }

  // -- a phone's views -------------------------------------------------------------------------------

  setupViews() {
    for (const tab of this.tabs) {
      tab.addEventListener("click", () => {
        const view = tab.dataset.view;
        // Tapping Chats again while a conversation shows goes back to the list (as phones do).
        if (view === "chats" && this.root.dataset.view === "chats") this.showChatList();
        else this.setView(view);
      });
    }
    document.getElementById("chats-back").addEventListener("click", () => this.showChatList());
    // The chats view shows the open conversation, or the list when none is open or the list was asked for.
    this.wantsList = false;
    this.office.on("panel.shown", ({ chosen }) => {
      if (chosen) this.wantsList = false;
      if (chosen && PHONE.matches) this.setView("chats");
      else this.refreshChat();
    });
    this.office.on("panel.closed", () => this.refreshChat());
    this.office.on("unread.changed", ({ unread }) => {
      const badge = document.getElementById("chats-badge");
      badge.hidden = !unread;
      const said = document.createElement("span");
      said.className = "visually-hidden";
      said.textContent = " unread";
      badge.replaceChildren(unread > 99 ? "99+" : String(unread), said);
    });
    // A call ringing shows on the People tab too (its toast is on screen in any view).
    const toasts = document.getElementById("toasts");
    const ringing = () => {
      document.getElementById("people-badge").hidden = !toasts.querySelector(".call-incoming");
    };
    new MutationObserver(ringing).observe(toasts, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
    // A window narrowed to a phone's width keeps showing the conversation that was open.
    PHONE.addEventListener("change", () => {
      if (PHONE.matches) this.setView(this.office.messages?.current ? "chats" : "floor");
    });
  }

  refreshChat() {
    this.root.dataset.chat = this.wantsList || !this.office.messages?.current ? "list" : "open";
  }

  setView(view) {
    this.root.dataset.view = view;
    if (view === "chats") this.wantsList = false;
    this.refreshChat();
    for (const tab of this.tabs) tab.setAttribute("aria-pressed", String(tab.dataset.view === view));
    this.office.emit("view.changed", { view });
  }

  showChatList() {
    this.wantsList = true;
    this.refreshChat();
    this.office.emit("view.changed", { view: this.root.dataset.view });
  }
}
