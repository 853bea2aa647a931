// `bfd:` per neighbour in the YAML of `tabby bgp run`: defaults left to the speaker (300/300/3), every
// mistake named by file, line, field and value.
import { describe, expect, it } from "vitest";
import { parseSpeakerFile } from "../../../src/bgp/speaker-file.js";
import { isTabbyError } from "../../../src/util/errors.js";

const yaml = (bfd: string) => `routerId: 10.0.0.1
asn: 65001
peers:
  - address: 10.0.0.2
    asn: 65002
    bfd: ${bfd}
`;

function err(text: string): string {
  try {
    parseSpeakerFile(text, "speaker.yaml");
  } catch (e) {
    if (isTabbyError(e)) return (e as Error).message;
    throw e;
  }
  throw new Error("expected an error");
}

describe("speaker.yaml bfd", () => {
  it("reads the block; an empty one means the defaults", () => {
    const f = parseSpeakerFile(yaml("{ minRxMs: 200, minTxMs: 250, multiplier: 5 }"), "speaker.yaml");
    expect(f.speaker.peers[0]?.bfd).toEqual({ minRxMs: 200, minTxMs: 250, multiplier: 5 });
    expect(parseSpeakerFile(yaml("{}"), "speaker.yaml").speaker.peers[0]?.bfd).toEqual({});
    expect(parseSpeakerFile(yaml("{ multiplier: 4 }"), "speaker.yaml").speaker.peers[0]?.bfd).toEqual({
      multiplier: 4,
    });
  });

  it("names the field and the value", () => {
    const m0 = err(yaml("{ multiplier: 0 }"));
    expect(m0).toContain("speaker.yaml:6");
    expect(m0).toContain("peers[0].bfd.multiplier");
    expect(m0).toContain("0");
    expect(err(yaml("{ minRxMs: fast }"))).toContain("peers[0].bfd.minRxMs");
    expect(err(yaml("{ minTxMs: 0 }"))).toContain("peers[0].bfd.minTxMs");
    expect(err(yaml("{ interval: 300 }"))).toContain("peers[0].bfd.interval");
    expect(err(yaml("300"))).toContain("peers[0].bfd");
  });
});
