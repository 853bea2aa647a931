// `addPathSend` in the YAML of `tabby bgp run`: "all" or the best N paths; anything else is named with
// its field and value.
import { describe, expect, it } from "vitest";
import { sessionConfig } from "../../../bgp/speaker/peer-session.js";
import { parseSpeakerFile } from "../../../src/bgp/speaker-file.js";

const yaml = (value: string, receive = false) => `routerId: 10.0.0.1
asn: 65000
peers:
  - address: 10.0.0.2
    asn: 65000
    addPathSend: ${value}
${receive ? "    addPathReceive: true\n" : ""}`;

describe("speaker.yaml addPathSend", () => {
  it("reads all and best N, and puts send (or both) in the OPEN's ADD-PATH capability", () => {
    const all = parseSpeakerFile(yaml("all"), "s.yaml").speaker;
    expect(all.peers[0]!.addPathSend).toBe("all");
    const best = parseSpeakerFile(yaml("2", true), "s.yaml").speaker;
    expect(best.peers[0]!.addPathSend).toEqual({ best: 2 });
    const caps = (f: typeof all) =>
      sessionConfig(f, f.peers[0]!)
        .fsm.localOpen.params.flatMap((p) => p.capabilities)
        .find((c) => c.name === "add-path");
    expect(caps(all)).toMatchObject({
      families: expect.arrayContaining([{ afi: 1, safi: 1, sendReceive: 2 }]),
    });
    expect(caps(best)).toMatchObject({
      families: expect.arrayContaining([{ afi: 1, safi: 1, sendReceive: 3 }]),
    });
  });

  it("names the field and the value of a mistake", () => {
    expect(() => parseSpeakerFile(yaml("some"), "s.yaml")).toThrow(/addPathSend.*"all" or a number.*some/s);
    expect(() => parseSpeakerFile(yaml("0"), "s.yaml")).toThrow(/addPathSend.*1\.\.64/s);
  });
});
