// What this tab knows of its conversations, as plain data (no DOM, no socket): node can test it.
//
// Messages are kept by conversation and by id, each at its rev, so applying the same message twice
// (REST page, socket event, ack, resume replay) keeps one copy, and an older copy never overwrites
// a newer one: a message (or a reaction change) is applied only if its rev is above the one held.
//
// Durable conversation events carry `conversation` and `rev`. For each conversation the store keeps
// a floor: every event up to it has been applied. An event at or below the floor (or already applied
// above it) is a duplicate; one above floor + 1 means something in between was lost, and a `resume`
// from the floor fetches it. A resume asks for every conversation's floor (after each (re)connect and
// on the server's `resync`); while one is running replayed events are compacted (one per message, at
// its latest rev) and may skip revs, so they are not taken for gaps, and the floor jumps to the rev
// the server reports when the resume is answered (`resumed`).

/** What `receive()` says about a durable event's rev. */
export const DUPLICATE = "duplicate"; // seen already: drop it
export const IN_ORDER = "in-order"; // the next rev (or the first heard of): apply it
export const AHEAD = "ahead"; // applied ahead of the floor while a resume runs: apply it
export const GAP = "gap"; // revs in between are missing: apply it, then resume from the floor

export class MessageStore {
  constructor() {
    this.byConversation = new Map(); // conversation id -> Map(message id -> message)
    this.revs = new Map(); // conversation id -> floor rev (every event up to it was applied)
    this.ahead = new Map(); // conversation id -> revs above the floor already applied
    this.resuming = new Map(); // conversation id -> resumes in flight for it (a resync may overlap one)
  }

  // -- messages ----------------------------------------------------------------------------------

  /**
   * Keep `message` (REST page, event data or ack) unless the copy held is as new or newer. Returns
   * `{ message, created }`, the merged message and whether its id was new here, or null when
   * nothing changed.
   */
  apply(conversationId, message) {
    if (!message || message.id === undefined) return null;
    const id = Number(conversationId);
    let messages = this.byConversation.get(id);
    if (!messages) {
      messages = new Map();
      this.byConversation.set(id, messages);
    }
    const known = messages.get(message.id);
    if (known && known.rev >= message.rev) return null;
    const merged = known ? { ...known, ...message } : message;
    messages.set(message.id, merged);
    return { message: merged, created: !known };
  }

  /** A `reaction.changed` event: applied unless the message held is at `rev` or later. */
  applyReactions(conversationId, messageId, reactions, rev) {
    const message = this.get(conversationId, messageId);
    if (!message || (rev !== undefined && message.rev >= rev)) return null;
    message.reactions = reactions;
    if (rev !== undefined) message.rev = rev;
    return message;
  }

  get(conversationId, messageId) {
    return this.byConversation.get(Number(conversationId))?.get(messageId);
  }

  messages(conversationId) {
    return [...(this.byConversation.get(Number(conversationId))?.values() || [])];
  }

  count(conversationId) {
    return this.byConversation.get(Number(conversationId))?.size || 0;
  }

  seqs(conversationId) {
    return this.messages(conversationId).map((m) => m.seq).filter((seq) => seq !== undefined);
  }

  /** The lowest seq held (where the next older page starts), or undefined. */
  oldestSeq(conversationId) {
    const seqs = this.seqs(conversationId);
    return seqs.length ? Math.min(...seqs) : undefined;
  }

  /** The highest seq held (how far a read marker can go), or 0. */
  newestSeq(conversationId) {
    const seqs = this.seqs(conversationId);
    return seqs.length ? Math.max(...seqs) : 0;
  }

  /** Forget a conversation's messages (its panel closed); its floor stays. */
  drop(conversationId) {
    this.byConversation.delete(Number(conversationId));
  }

  // -- revs --------------------------------------------------------------------------------------

  /**
   * A durable event of `conversationId` at `rev` arrived: DUPLICATE, IN_ORDER, AHEAD or GAP. Every
   * answer but DUPLICATE counts the rev as applied.
   */
  receive(conversationId, rev) {
    const conversation = Number(conversationId);
    rev = Number(rev);
    if (!this.revs.has(conversation)) {
      // First time we hear of it: nothing before this can be missing from what we have shown.
      this.revs.set(conversation, rev);
      return IN_ORDER;
    }
    const floor = this.revs.get(conversation);
    const ahead = this.ahead.get(conversation);
    if (rev <= floor || (ahead && ahead.has(rev))) return DUPLICATE;
    if (rev === floor + 1 && !this.resuming.has(conversation)) {
      let next = rev;
      // Events applied ahead of a gap now join the contiguous run.
      while (ahead && ahead.delete(next + 1)) next += 1;
      this.revs.set(conversation, next);
      return IN_ORDER;
    }
    // Applied ahead of the floor: during a resume (replays are compacted and may skip revs), or
    // after a gap, which a resume from the floor will fill.
    if (!ahead) this.ahead.set(conversation, new Set([rev]));
    else ahead.add(rev);
    return this.resuming.has(conversation) ? AHEAD : GAP;
  }

  /**
   * A conversation first loaded over REST. Only a conversation not known yet takes that rev as its
   * floor: for a known one, a higher REST rev means events are still on their way (or lost, and a
   * gap will resume them); jumping the floor would drop them.
   */
  track(conversationId, rev) {
    const id = Number(conversationId);
    if (!this.revs.has(id)) this.revs.set(id, Number(rev) || 0);
  }

  /** Raise a floor to a rev the server confirmed complete (`resumed`). */
  advance(conversationId, rev) {
    const id = Number(conversationId);
    const current = this.revs.get(id);
    let floor = current === undefined || Number(rev) > current ? Number(rev) : current;
    const ahead = this.ahead.get(id);
    if (ahead) {
      for (const seen of [...ahead]) if (seen <= floor) ahead.delete(seen);
      while (ahead.delete(floor + 1)) floor += 1;
      if (!ahead.size) this.ahead.delete(id);
    }
    this.revs.set(id, floor);
  }

  forget(conversationId) {
    this.revs.delete(Number(conversationId));
    this.ahead.delete(Number(conversationId));
  }

  lastRev(conversationId) {
    return this.revs.get(Number(conversationId));
  }

  /** Every conversation with a floor. */
  known() {
    return [...this.revs.keys()];
  }

  // -- resume ------------------------------------------------------------------------------------

  isResuming(conversationId) {
    return this.resuming.has(Number(conversationId));
  }

  /**
   * What a `resume` for these conversations carries, `{ id: floor }` (unknown ones left out), and
   * they count as resuming until `resumed()`; null when none is known.
   */
  resumeRequest(conversationIds) {
    const conversations = {};
    for (const value of conversationIds) {
      const id = Number(value);
      if (!this.revs.has(id)) continue;
      conversations[id] = this.revs.get(id);
      this.resuming.set(id, (this.resuming.get(id) || 0) + 1);
    }
    return Object.keys(conversations).length ? conversations : null;
  }

  /** The server's `resync` (it may have lost events for us): a resume of every known conversation. */
  resync() {
    return this.resumeRequest(this.known());
  }

  /**
   * The resume that carried `conversations` is over: answered with `data` (`{ conversations: { id:
   * rev } }`, each floor jumps there) or failed (null).
   */
  resumed(conversations, data) {
    for (const id of Object.keys(conversations)) {
      const number = Number(id);
      const left = (this.resuming.get(number) || 1) - 1;
      if (left > 0) this.resuming.set(number, left);
      else this.resuming.delete(number);
      const reached = data && data.conversations ? Number(data.conversations[id]) : NaN;
      if (!Number.isNaN(reached)) this.advance(number, reached);
    }
  }

  /** The socket dropped: the resumes it carried will never be answered. */
  abandonResumes() {
    this.resuming.clear();
  }
}
