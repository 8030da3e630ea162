// The meeting controls of a room panel: "Start meeting" opens a form for its title, "End meeting"
// ends the space's meeting. The button follows the space (`refresh` on every space.updated).

import { del, post } from "./api.js";

export class MeetingBar {
  constructor(panel) {
    this.panel = panel;
    this.office = panel.office;
    const p = panel.parts;
    this.button = p.meeting;
    this.form = p.meetingForm;
    this.title = p.meetingTitle;
    this.leave = p.leave;
    this.button.addEventListener("click", () => this.onButton());
    p.meetingCancel.addEventListener("click", () => {
      this.form.hidden = true;
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
    this.refresh();
  }

  /** The space of a room panel (none for other conversations). */
  get space() {
    return this.panel.room ? this.office.floor.spaces.get(this.panel.conversation.space) : null;
  }

  refresh() {
    const space = this.space;
    const button = this.button;
    button.hidden = !space || space.status === "closed";
    if (!space) return;
    button.textContent = space.meeting ? "End meeting" : "Start meeting";
    this.leave.title = `Leave ${space.name}`;
    button.title = space.meeting ? `End “${space.meeting.title}”` : "Start a meeting in this space";
    if (space.meeting) this.form.hidden = true;
  }

  onButton() {
    const space = this.space;
    if (!space) return;
    if (space.meeting) {
      del(`spaces/${space.id}/meeting/`).catch((error) => this.office.toast(error.message, { kind: "error" }));
      return;
    }
    this.panel.setCollapsed(false);
    this.form.hidden = false;
    this.title.focus();
  }

  async start() {
    const space = this.space;
    const title = this.title.value.trim();
    if (!space || !title) return;
    try {
      await post(`spaces/${space.id}/meeting/`, { title });
      this.title.value = "";
      this.form.hidden = true;
    } catch (error) {
      this.office.toast(error.message, { kind: "error", title: "Meeting not started" });
    }
  }
}
