// What a space's talk needs to decide without the DOM or WebRTC: who I connect to, which side of
// each pair makes the offer, what each tile says, and whether someone is speaking. Node-tested
// (tests/js/space-talk-state.test.mjs); static/js/space-talk.js does the media.

/** The server lists participants first joiner first. For each pair the newer joiner makes the offer:
 * both sides agree without talking, so two offers never cross (no glare). */
export function makesOffer(participants, me, other) {
  const order = participants.map((p) => p.user);
  const mine = order.indexOf(me);
  const theirs = order.indexOf(other);
  return mine >= 0 && theirs >= 0 && mine > theirs;
}

/** Peers to open and to close so that I hold a connection with every other participant, no more. */
export function peerChanges(participants, me, open) {
  const wanted = new Set(participants.map((p) => p.user).filter((id) => id !== me));
  const joined = participants.some((p) => p.user === me);
  const add = joined ? [...wanted].filter((id) => !open.has(id)) : [];
  const remove = [...open].filter((id) => !joined || !wanted.has(id));
  return { add, remove };
}

/** A tile's state words: "muted", "camera on", "sharing the screen" (empty: plain audio). */
export function stateWords(participant) {
  const words = [];
  if (!participant.audio) words.push("muted");
  if (participant.video) words.push("camera on");
  if (participant.screen) words.push("sharing the screen");
  return words;
}

/** "Ada is sharing", "You are sharing", "Ada and Bo are sharing", or "" when nobody is. */
export function sharingLine(participants, me, nameOf) {
  const sharing = participants.filter((p) => p.screen);
  if (!sharing.length) return "";
  const names = sharing.map((p) => (p.user === me ? "You" : nameOf(p.user)));
  const verb = names.length === 1 && names[0] !== "You" ? "is" : "are";
  const list = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}` : names[0];
  return `${list} ${verb} sharing`;
}

/** Loudness 0..1 of one AnalyserNode time-domain frame (bytes centred on 128): the RMS. */
export function audioLevel(samples) {
  if (!samples || !samples.length) return 0;
  let sum = 0;
  for (const value of samples) {
    const centred = (value - 128) / 128;
    sum += centred * centred;
  }
  return Math.min(1, Math.sqrt(sum / samples.length));
}

/** Speaking, with a little hysteresis so the ring does not flicker between syllables: on above
 * `on`, off only after `holdFrames` frames below `off`. Returns the new {speaking, quiet}. */
export function speakingStep(state, level, { on = 0.04, off = 0.02, holdFrames = 12 } = {}) {
  if (level >= on) return { speaking: true, quiet: 0 };
  if (!state.speaking) return { speaking: false, quiet: 0 };
  const quiet = level < off ? state.quiet + 1 : 0;
  return quiet >= holdFrames ? { speaking: false, quiet: 0 } : { speaking: true, quiet };
}

/** The talk button's words for the space I am in. */
export function joinLabel({ participants, me, meeting }) {
  if (participants.some((p) => p.user === me)) return "Leave talk";
  const others = participants.length;
  if (others) return `Join talk (${others} in it)`;
  return meeting ? "Join the meeting's talk" : "Join talk";
}
