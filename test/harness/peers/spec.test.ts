import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../exec.js";
import { makeTempDir } from "../naming.js";
import { describeWith } from "../requirements.js";
import { testScope } from "../scope.js";
import { Frr } from "./frr.js";
import {
  renderBirdConfig,
  renderFrrConfig,
  renderGobgpConfig,
  renderTemplate,
  type SpeakerSpec,
} from "./spec.js";

// Every option of the neutral spec at once: the configs must be accepted by each daemon's own checker.
const everything: SpeakerSpec = {
  routerId: "10.0.0.1",
  as: 65001,
  originate: ["192.0.2.0/24", "2001:db8:a::/48"],
  clusterId: "10.0.0.100",
  neighbors: [
    {
      address: "10.0.0.2",
      as: 65002,
      holdTimeSec: 9,
      password: "s3cret",
      multihop: 2,
      gracefulRestart: true,
    },
    {
      address: "10.0.0.3",
      as: 65001,
      rrClient: true,
      nextHopSelf: true,
      passive: true,
      families: ["ipv4", "ipv6"],
    },
    { address: "fd00::2", as: 65002, localAddress: "fd00::1", port: 1179 },
  ],
};

describe("config templates", () => {
  it("fills @NAME@ placeholders and refuses a missing one", () => {
    expect(renderTemplate("router id @ME@; net @NET@;", { ME: "10.0.0.1", NET: "192.0.2.0/24" })).toBe(
      "router id 10.0.0.1; net 192.0.2.0/24;",
    );
    expect(() => renderTemplate("neighbor @PEER@", {})).toThrow("@PEER@ has no value");
  });

  it("renders per-family activation in FRR", () => {
    const text = renderFrrConfig(everything);
    expect(text).toContain("  no neighbor 10.0.0.2 activate\n  neighbor 10.0.0.3 activate");
    expect(text).toContain(" bgp cluster-id 10.0.0.100");
  });
});

describeWith(["bird", "frr", "gobgp"], "rendered configs pass the daemons' own checks", () => {
  it("bird -p, bgpd -C and gobgpd -d accept them", async () => {
    const scope = testScope();
    const dir = await makeTempDir(scope);
    const bird = join(dir, "bird.conf");
    const gobgp = join(dir, "gobgpd.toml");
    writeFileSync(bird, renderBirdConfig(everything));
    writeFileSync(gobgp, renderGobgpConfig(everything));
    await run("bird", ["-p", "-c", bird]);
    expect(await Frr.checkConfig(scope, renderFrrConfig(everything))).toEqual([]);
    await run("gobgpd", ["-d", "-f", gobgp, "-t", "toml"]);
    // And a broken config is caught, so the checks above can fail.
    writeFileSync(bird, "router id nonsense;");
    await expect(run("bird", ["-p", "-c", bird])).rejects.toThrow(/exited/);
    const bad = await Frr.checkConfig(scope, "router bgp 65001\n neighbor 10.0.0.2 remote-az 5\n");
    expect(bad.join("\n")).toMatch(/No such command on config line 2/);
  });
});
