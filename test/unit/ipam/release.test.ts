import { describe, expect, it } from "vitest";
import { allocationsOf } from "../../../ipam/block.js";
import type { BlockSpec } from "../../../ipam/model.js";
import { affinityName, blockName } from "../../../ipam/names.js";
import { caught, contents, errorCode, pool, world } from "./helpers.js";

const pools = () => [pool("p", "10.0.0.0/24", { blockSize: 28 })];

for (const atomic of [true, false]) {
  const w = () => world(pools(), undefined, { atomic });

  describe(`ipam release (${atomic ? "atomic commits" : "no commits"})`, () => {
    it("releases by address with the sequence number the assignment returned", async () => {
      const { ipam, store } = w();
      const r = await ipam.autoAssign({ handleId: "h", node: "n1", num4: 2 });
      const [a, b] = r.ipv4;
      const out = await ipam.releaseIPs([
        { address: a!.address, handle: "h", sequenceNumber: a!.sequenceNumber },
      ]);
      expect(out).toEqual({ released: [a!.address], notAllocated: [] });
      expect((await store.get("IPAMHandle", "h"))!.spec.block).toEqual({ [a!.block]: 1 });
      expect(await ipam.ipsByHandle("h")).toEqual([b!.address]);
    });

    it("refuses a release with a stale sequence number (the address was reassigned): ABA", async () => {
      const { ipam, clock } = w();
      const first = (await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 16 })).ipv4;
      await ipam.releaseByHandle("h1"); // block released; a new pod may now get the same address
      clock.advance(1);
      const again = (await ipam.autoAssign({ handleId: "h2", node: "n1", num4: 16 })).ipv4;
      const reused = again.find((x) => x.address === first[0]!.address)!;
      expect(reused.sequenceNumber).not.toBe(first[0]!.sequenceNumber);
      const e = await caught(
        ipam.releaseIPs([{ address: reused.address, sequenceNumber: first[0]!.sequenceNumber }]),
      );
      expect(e.code).toBe("IPAM_BAD_SEQUENCE_NUMBER");
      expect(e.message).toContain(reused.address);
      expect(await ipam.ipsByHandle("h2")).toContain(reused.address);
    });

    it("refuses a release naming another handle", async () => {
      const { ipam } = w();
      const [a] = (await ipam.autoAssign({ handleId: "h", node: "n1", num4: 1 })).ipv4;
      expect(await errorCode(ipam.releaseIPs([{ address: a!.address, handle: "other" }]))).toBe(
        "IPAM_HANDLE_MISMATCH",
      );
    });

    it("reports addresses that are not allocated or in no block", async () => {
      const { ipam } = w();
      const [a] = (await ipam.autoAssign({ handleId: "h", node: "n1", num4: 1 })).ipv4;
      const other = a!.address.replace(/\d+$/, (d) => String(Number(d) + 1));
      expect(await ipam.releaseIPs([{ address: other }, { address: "192.168.0.1" }])).toEqual({
        released: [],
        notAllocated: ["192.168.0.1", other],
      });
      expect(await errorCode(ipam.releaseIPs([{ address: "nope" }]))).toBe("IPAM_INVALID_REQUEST");
    });

    it("a released address goes to the back of the queue (reuse delay)", async () => {
      const { ipam } = w();
      const [a] = (await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 1 })).ipv4;
      await ipam.autoAssign({ handleId: "h2", node: "n1", num4: 1 });
      await ipam.releaseIPs([{ address: a!.address }]);
      const [c] = (await ipam.autoAssign({ handleId: "h3", node: "n1", num4: 1 })).ipv4;
      expect(c!.address).not.toBe(a!.address);
    });

    it("an empty affine block gives its affinity up and is deleted; the handle goes with its last address", async () => {
      const { ipam, store } = w();
      await ipam.autoAssign({ handleId: "h", node: "n1", num4: 20 }); // two blocks
      expect(contents(store).BlockAffinity).toHaveLength(2);
      expect((await ipam.releaseByHandle("h")).length).toBe(20);
      expect(contents(store)).toEqual({ IPAMBlock: [], BlockAffinity: [], IPAMHandle: [] });
    });

    it("a block still in use keeps its affinity", async () => {
      const { ipam, store } = w();
      const r = await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 1 });
      await ipam.autoAssign({ handleId: "h2", node: "n1", num4: 1 });
      await ipam.releaseByHandle("h1");
      expect(contents(store).BlockAffinity).toEqual([affinityName("n1", r.ipv4[0]!.block)]);
    });

    it("releasing a borrowed address leaves the owner's block and affinity alone", async () => {
      const { ipam, inputs, store } = w();
      inputs.poolList = [pool("p", "10.0.0.0/28", { blockSize: 28 })]; // one block
      await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 1 });
      const [b] = (await ipam.autoAssign({ handleId: "h2", node: "n2", num4: 1 })).ipv4;
      expect(b!.borrowed).toBe(true);
      await ipam.releaseByHandle("h2");
      expect(contents(store).BlockAffinity).toEqual([affinityName("n1", "10.0.0.0/28")]);
      const block = (await store.get("IPAMBlock", blockName("10.0.0.0/28")))!;
      expect(allocationsOf(block.spec).map((x) => x.handle)).toEqual(["h1"]);
    });

    it("an unaffine block left empty is deleted", async () => {
      const { ipam, store, inputs } = w();
      inputs.poolList = [pool("p", "10.0.0.0/28", { blockSize: 28 })];
      const [a] = (await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 1 })).ipv4;
      await ipam.autoAssign({ handleId: "h2", node: "n1", num4: 1 });
      // The node goes away: its affinity is released while the block still holds addresses.
      expect(await ipam.releaseHostAffinities("n1", { mustBeEmpty: false })).toEqual(["10.0.0.0/28"]);
      const unaffine = (await store.get("IPAMBlock", blockName("10.0.0.0/28")))!.spec as BlockSpec;
      expect(unaffine.affinity).toBeUndefined();
      await ipam.releaseIPs([{ address: a!.address }]);
      await ipam.releaseByHandle("h2");
      expect(contents(store)).toEqual({ IPAMBlock: [], BlockAffinity: [], IPAMHandle: [] });
    });

    it("releaseByHandle of an unknown handle is IPAM_HANDLE_NOT_FOUND (CNI DEL treats it as done)", async () => {
      const { ipam } = w();
      expect(await errorCode(ipam.releaseByHandle("nope"))).toBe("IPAM_HANDLE_NOT_FOUND");
      expect(await errorCode(ipam.ipsByHandle("nope"))).toBe("IPAM_HANDLE_NOT_FOUND");
    });

    it("releaseByHandle heals a handle that counts addresses a block no longer has", async () => {
      const { ipam, store } = w();
      await ipam.autoAssign({ handleId: "h", node: "n1", num4: 1 });
      const h = (await store.get("IPAMHandle", "h"))!;
      store.put("IPAMHandle", "h", { ...h.spec, block: { ...h.spec.block, "10.0.0.240/28": 3 } });
      expect(await ipam.releaseByHandle("h")).toHaveLength(1);
      expect(contents(store).IPAMHandle).toEqual([]);
    });
  });
}

describe("ipam assignIP", () => {
  it("assigns a given address, claiming its block for the node", async () => {
    const { ipam, store } = world(pools());
    const r = await ipam.assignIP({ address: "10.0.0.37", handleId: "h", node: "n1" });
    expect(r.block).toBe("10.0.0.32/28");
    expect((await store.get("BlockAffinity", affinityName("n1", "10.0.0.32/28")))!.spec.state).toBe(
      "confirmed",
    );
    expect(await ipam.ipsByHandle("h")).toEqual(["10.0.0.37"]);
  });

  it("is idempotent for the handle holding the address and refuses others", async () => {
    const { ipam, store } = world(pools());
    await ipam.assignIP({ address: "10.0.0.37", handleId: "h", node: "n1" });
    await ipam.assignIP({ address: "10.0.0.37", handleId: "h", node: "n1" });
    expect((await store.get("IPAMHandle", "h"))!.spec.block).toEqual({ "10.0.0.32/28": 1 });
    const e = await caught(ipam.assignIP({ address: "10.0.0.37", handleId: "x", node: "n1" }));
    expect(e.code).toBe("IPAM_ADDRESS_IN_USE");
    expect(e.message).toContain("held by handle h");
  });

  it("uses another node's block unless strictAffinity forbids it", async () => {
    const { ipam, inputs } = world(pools());
    await ipam.assignIP({ address: "10.0.0.37", handleId: "h", node: "n1" });
    await ipam.assignIP({ address: "10.0.0.38", handleId: "h2", node: "n2" });
    inputs.configSpec = { strictAffinity: true, autoAllocateBlocks: true };
    expect(await errorCode(ipam.assignIP({ address: "10.0.0.39", handleId: "h3", node: "n2" }))).toBe(
      "IPAM_INVALID_REQUEST",
    );
  });

  it("refuses addresses outside enabled pools and pools not allowing the use", async () => {
    const { ipam, inputs } = world([
      pool("t", "10.0.0.0/24", { allowedUses: ["Tunnel"] }),
      pool("off", "10.1.0.0/24", { disabled: true }),
    ]);
    expect(await errorCode(ipam.assignIP({ address: "10.1.0.1", handleId: "h", node: "n1" }))).toBe(
      "IPAM_NOT_IN_POOL",
    );
    expect(
      await errorCode(ipam.assignIP({ address: "10.0.0.1", handleId: "h", node: "n1", use: "Workload" })),
    ).toBe("IPAM_INVALID_REQUEST");
    void inputs;
  });

  it("addressInfo says who holds an address", async () => {
    const { ipam } = world(pools());
    const [a] = (
      await ipam.autoAssign({ handleId: "h", node: "n1", num4: 1, attrs: { pod: "p", namespace: "ns" } })
    ).ipv4;
    expect(await ipam.addressInfo(a!.address)).toMatchObject({
      address: a!.address,
      handle: "h",
      attrs: { pod: "p", namespace: "ns" },
      sequenceNumber: a!.sequenceNumber,
      blockAffinity: "host:n1",
    });
    expect(await ipam.addressInfo("10.0.0.250")).toBeUndefined();
    expect(await ipam.addressInfo("192.168.1.1")).toBeUndefined();
  });
});
