// static/js/call-view.js and call-session.js under node: where the call window may sit (never over
// the composer), what it says about the microphone and camera, and how media is asked for.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importStatic } from "./load.mjs";

const { deviceNotice, placeWindow } = await importStatic("call-view.js");
const { acquireMedia } = await importStatic("call-session.js");

const VIEW = { width: 1440, height: 900 };
const SIZE = { width: 360, height: 300 };
const COMPOSER = { left: 900, top: 800, width: 520, height: 80 };

describe("placeWindow", () => {
  test("keeps the window inside the viewport", () => {
    assert.deepEqual(placeWindow({ left: -50, top: -20 }, SIZE, VIEW, null), { left: 0, top: 0 });
    assert.deepEqual(placeWindow({ left: 5000, top: 5000 }, SIZE, VIEW, null), { left: 1080, top: 600 });
  });

  test("a window dropped over the composer moves above it", () => {
    const place = placeWindow({ left: 950, top: 700 }, SIZE, VIEW, COMPOSER);
    assert.equal(place.top + SIZE.height <= COMPOSER.top, true);
    assert.equal(place.left, 950);
  });

  test("when there is no room above, it moves beside the composer", () => {
    const tall = { width: 360, height: 880 };
    const place = placeWindow({ left: 1000, top: 0 }, tall, VIEW, COMPOSER);
    assert.equal(place.left + tall.width <= COMPOSER.left, true);
  });

  test("away from the composer it stays where it was dropped", () => {
    assert.deepEqual(placeWindow({ left: 100, top: 120 }, SIZE, VIEW, COMPOSER), { left: 100, top: 120 });
  });
});

describe("deviceNotice", () => {
  test("says nothing when everything works", () => {
    assert.equal(deviceNotice({ microphone: "on", camera: "on" }), null);
    assert.equal(deviceNotice({ microphone: "on", camera: null }), null);
  });

  test("names what is missing and what was refused", () => {
    assert.match(deviceNotice({ microphone: "none", camera: null }), /No microphone found: they cannot hear you/);
    assert.match(deviceNotice({ microphone: "on", camera: "blocked" }), /^Camera blocked by the browser: they cannot see you\.$/);
    const both = deviceNotice({ microphone: "blocked", camera: "none" });
    assert.match(both, /Microphone blocked/);
    assert.match(both, /No camera found/);
  });
});

class FakeTrack {
  constructor(kind) {
    this.kind = kind;
  }
}

globalThis.MediaStream = class {
  constructor(tracks) {
    this.tracks = tracks;
  }
  getTracks() {
    return this.tracks;
  }
};

function devices({ microphone = true, camera = true, refused = false } = {}) {
  const calls = [];
  return {
    calls,
    async getUserMedia(wanted) {
      calls.push(wanted);
      const fail = (name) => Object.assign(new Error(name), { name });
      if (wanted.audio && !microphone) throw fail("NotFoundError");
      if (wanted.video && !camera) throw fail(refused ? "NotAllowedError" : "NotFoundError");
      const tracks = [];
      if (wanted.audio) tracks.push(new FakeTrack("audio"));
      if (wanted.video) tracks.push(new FakeTrack("video"));
      return new MediaStream(tracks);
    },
  };
}

describe("acquireMedia", () => {
  test("asks once when both work", async () => {
    const media = devices();
    const { stream, devices: state } = await acquireMedia(media, "video");
    assert.deepEqual(state, { microphone: "on", camera: "on" });
    assert.equal(stream.getTracks().length, 2);
    assert.equal(media.calls.length, 1);
  });

  test("a blocked camera still sends the voice", async () => {
    const { stream, devices: state } = await acquireMedia(devices({ camera: false, refused: true }), "video");
    assert.deepEqual(state, { microphone: "on", camera: "blocked" });
    assert.deepEqual(stream.getTracks().map((t) => t.kind), ["audio"]);
  });

  test("no microphone: nothing to send in a voice call, and it says so", async () => {
    const { stream, devices: state } = await acquireMedia(devices({ microphone: false }), "voice");
    assert.deepEqual(state, { microphone: "none", camera: null });
    assert.equal(stream, null);
  });
});
