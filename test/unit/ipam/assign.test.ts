import { describe, expect, it } from "vitest";
import { allocationsOf, newBlock } from "../../../ipam/block.js";
import { parseCidr } from "../../../ipam/ip.js";
import type { MemoryStore } from "../../../ipam/memory-store.js";
import type { AffinitySpec, BlockSpec } from "../../../ipam/model.js";
import { affinityName, blockName } from "../../../ipam/names.js";
import { caught, contents, errorCode, pool, world } from "./helpers.js";

/** What is allocated to whom, and which handles and affinities exist: what "nothing half-written" compares. */
function allocated(store: MemoryStore): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, v] of store.objects) {
    out[k] = k.startsWith("IPAMBlock/")
      ? allocationsOf(v.spec as BlockSpec).map((a) => [a.address, a.handle])
      : v.spec;
  }
  return out;
}

const small = () => [pool("small", "10.0.0.0/29", { blockSize: 30 })]; // two blocks of four

for (const atomic of [true, false]) {
  const w = (pools = small(), nodes?: Record<string, Record<string, string>>) =>
    world(pools, nodes, { atomic });

  describe(`ipam autoAssign (${atomic ? "atomic commits" : "no commits: Kubernetes order"})`, () => {
    it("claims a block for the node: pending then confirmed affinity, block affine to the node", async () => {
      const { ipam, store } = w([pool("p", "10.0.0.0/24", { blockSize: 28 })]);
      const r = await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 2, attrs: { pod: "a" } });
      expect(r.ipv4).toHaveLength(2);
      const block = r.ipv4[0]!.block;
      expect(r.ipv4[0]!.cidr).toMatch(/\/28$/); // block prefix length, as Calico returns it
      expect(r.ipv4.every((a) => !a.borrowed && a.pool === "p")).toBe(true);
      const b = (await store.get("IPAMBlock", blockName(block)))!;
      expect(b.spec.affinity).toBe("host:n1");
      expect(b.spec.affinityClaimTime).toBe("2026-01-01T00:00:00Z");
      const aff = (await store.get("BlockAffinity", affinityName("n1", block)))!;
      expect(aff.spec).toEqual({ state: "confirmed", node: "n1", type: "host", cidr: block, deleted: false });
      expect(aff.labels?.["projectcalico.org/ip-version"]).toBe("4");
      expect((await store.get("IPAMHandle", "h1"))!.spec).toEqual({
        handleID: "h1",
        block: { [block]: 2 },
        deleted: false,
      });
    });

    it("takes later addresses from the node's affine block before claiming another", async () => {
      const { ipam, store, client } = w([pool("p", "10.0.0.0/24", { blockSize: 28 })]);
      const a = await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 1 });
      const b = await client().autoAssign({ handleId: "h2", node: "n1", num4: 1 }); // a fresh client: no hint
      expect(b.ipv4[0]!.block).toBe(a.ipv4[0]!.block);
      expect(contents(store).IPAMBlock).toHaveLength(1);
    });

    it("hands out the handle's addresses in FIFO order and counts them on the handle", async () => {
      const { ipam, store } = w();
      const r = await ipam.autoAssign({ handleId: "h", node: "n1", num4: 3 });
      const ords = r.ipv4.map((a) => Number(a.address.split(".")[3]) % 4);
      expect(ords).toEqual([0, 1, 2]);
      expect((await store.get("IPAMHandle", "h"))!.spec.block[r.ipv4[0]!.block]).toBe(3);
    });

    it("claims a second block when the first is full, and records both on the handle", async () => {
      const { ipam, store } = w();
      const r = await ipam.autoAssign({ handleId: "h", node: "n1", num4: 6 });
      expect(new Set(r.ipv4.map((a) => a.address)).size).toBe(6);
      expect(contents(store).BlockAffinity.sort()).toEqual(["n1-10-0-0-0-30", "n1-10-0-0-4-30"]);
      expect(Object.values((await store.get("IPAMHandle", "h"))!.spec.block).sort()).toEqual([2, 4]);
    });

    it("borrows from another node's block when no block is free (strictAffinity false)", async () => {
      const { ipam } = w();
      await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 5 }); // n1 owns both blocks
      const r = await ipam.autoAssign({ handleId: "h2", node: "n2", num4: 2 });
      expect(r.ipv4.map((a) => a.borrowed)).toEqual([true, true]);
    });

    it("does not borrow with strictAffinity: the error names the pool and the node", async () => {
      const { ipam, inputs, store } = w();
      inputs.configSpec = { strictAffinity: true, autoAllocateBlocks: true };
      await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 5 });
      const before = structuredClone([...store.objects]);
      const e = await caught(ipam.autoAssign({ handleId: "h2", node: "n2", num4: 1 }));
      expect(e.code).toBe("IPAM_POOL_EXHAUSTED");
      expect(e.message).toContain("node n2");
      expect(e.message).toContain("small (10.0.0.0/29)");
      expect(e.message).toContain("No more free affine blocks and strict affinity enabled");
      expect(e.context).toMatchObject({ pool: "small", node: "n2" });
      expect([...store.objects]).toEqual(before);
    });

    it("pool exhausted: nothing half-written (what this request took is given back)", async () => {
      const { ipam, store } = w();
      await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 3 });
      const before = allocated(store);
      const e = await caught(ipam.autoAssign({ handleId: "h2", node: "n2", num4: 6 }));
      expect(e.code).toBe("IPAM_POOL_EXHAUSTED");
      expect(e.message).toMatch(/assigned 5 out of 6 requested IPv4 addresses/);
      expect(allocated(store)).toEqual(before);
    });

    it("dual stack: a failing IPv6 request gives the IPv4 addresses back", async () => {
      const { ipam, store } = w([
        pool("v4", "10.0.0.0/24", { blockSize: 28 }),
        pool("v6", "fd00::/126", { blockSize: 126 }),
      ]);
      expect(await errorCode(ipam.autoAssign({ handleId: "h", node: "n1", num4: 1, num6: 5 }))).toBe(
        "IPAM_POOL_EXHAUSTED",
      );
      expect(contents(store)).toEqual({ IPAMBlock: [], BlockAffinity: [], IPAMHandle: [] });
      const ok = await ipam.autoAssign({ handleId: "h", node: "n1", num4: 1, num6: 1 });
      expect(ok.ipv6[0]!.cidr).toBe("fd00::/126");
    });

    it("maxBlocksPerHost caps claims, not allocations in owned blocks", async () => {
      const { ipam, inputs, store } = w([pool("p", "10.0.0.0/24", { blockSize: 30 })]);
      inputs.configSpec = { strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 1 };
      await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 3 });
      await ipam.autoAssign({ handleId: "h2", node: "n1", num4: 1 }); // fills the one block
      const e = await caught(ipam.autoAssign({ handleId: "h3", node: "n1", num4: 1 }));
      expect(e.code).toBe("IPAM_BLOCK_LIMIT");
      expect(e.message).toContain("node n1 already has 1 blocks (limit 1)");
      expect(contents(store).BlockAffinity).toHaveLength(1);
    });

    it("the request's maxBlocksPerHost applies when IPAMConfiguration sets none", async () => {
      const { ipam } = w([pool("p", "10.0.0.0/24", { blockSize: 30 })]);
      expect(
        await errorCode(ipam.autoAssign({ handleId: "h", node: "n1", num4: 5, maxBlocksPerHost: 1 })),
      ).toBe("IPAM_BLOCK_LIMIT");
    });

    it("autoAllocateBlocks false: no claims (IPAM_NO_BLOCK)", async () => {
      const { ipam, inputs } = w();
      inputs.configSpec = { strictAffinity: true, autoAllocateBlocks: false };
      expect(await errorCode(ipam.autoAssign({ handleId: "h", node: "n1", num4: 1 }))).toBe("IPAM_NO_BLOCK");
    });

    it("needs the node to exist and a handle", async () => {
      const { ipam } = w();
      expect(await errorCode(ipam.autoAssign({ handleId: "h", node: "ghost", num4: 1 }))).toBe(
        "IPAM_NODE_NOT_FOUND",
      );
      expect(await errorCode(ipam.autoAssign({ handleId: "", node: "n1", num4: 1 }))).toBe(
        "IPAM_INVALID_REQUEST",
      );
    });

    it("chooses pools by nodeSelector and by requested pool", async () => {
      const pools = [
        pool("a", "10.1.0.0/24", { blockSize: 28, nodeSelector: "zone == 'a'" }),
        pool("b", "10.2.0.0/24", { blockSize: 28, nodeSelector: "zone == 'b'" }),
      ];
      const { ipam } = w(pools, { n1: { zone: "b" } });
      expect((await ipam.autoAssign({ handleId: "h1", node: "n1", num4: 1 })).ipv4[0]!.pool).toBe("b");
      expect(
        (await ipam.autoAssign({ handleId: "h2", node: "n1", num4: 1, pools4: ["a"] })).ipv4[0]!.pool,
      ).toBe("a");
    });

    it("never claims a block that reservations cover wholly, nor hands out reserved addresses", async () => {
      const { ipam, inputs } = w();
      inputs.reserved = ["10.0.0.0/30", "10.0.0.5"];
      const r = await ipam.autoAssign({ handleId: "h", node: "n1", num4: 3 });
      expect(r.ipv4.map((a) => a.address).sort()).toEqual(["10.0.0.4", "10.0.0.6", "10.0.0.7"]);
      expect(await errorCode(ipam.autoAssign({ handleId: "h2", node: "n1", num4: 1 }))).toBe(
        "IPAM_POOL_EXHAUSTED",
      );
    });

    it("takes an empty block another node claimed over a minute ago, not sooner", async () => {
      const { ipam, store, clock } = w();
      for (const [cidr, node] of [
        ["10.0.0.0/30", "n1"],
        ["10.0.0.4/30", "n1"],
      ] as const) {
        store.put(
          "IPAMBlock",
          blockName(cidr),
          newBlock(parseCidr(cidr)!, {
            affinity: `host:${node}`,
            affinityClaimTime: "2026-01-01T00:00:00Z",
            sequenceNumber: 1,
          }),
        );
        store.put("BlockAffinity", affinityName(node, cidr), {
          state: "confirmed",
          node,
          type: "host",
          cidr,
          deleted: false,
        });
      }
      // Both blocks are empty but n1's: n2 cannot claim, and borrowing is what it gets.
      expect((await ipam.autoAssign({ handleId: "h0", node: "n2", num4: 1 })).ipv4[0]!.borrowed).toBe(true);
      await ipam.releaseByHandle("h0");
      clock.advance(61_000);
      const r = await ipam.autoAssign({ handleId: "h", node: "n2", num4: 1 });
      expect(r.ipv4[0]!.borrowed).toBe(false);
      expect(contents(store).BlockAffinity).toContain(affinityName("n2", r.ipv4[0]!.block));
    });

    it("retries a lost CAS from a fresh read and never hands an address out twice", async () => {
      const { ipam, client } = w([pool("p", "10.0.0.0/24", { blockSize: 28 })]);
      const other = client(); // same store, two clients racing
      const [a, b] = await Promise.all([
        ipam.autoAssign({ handleId: "h1", node: "n1", num4: 4 }),
        other.autoAssign({ handleId: "h2", node: "n1", num4: 4 }),
      ]);
      const all = [...a.ipv4, ...b.ipv4].map((x) => x.address);
      expect(new Set(all).size).toBe(8);
    });

    it("an allocator that keeps losing its CAS gives up naming the block, leaving nothing behind", async () => {
      let armed = false;
      const { ipam, store, client } = world(small(), undefined, {
        atomic,
        beforeWrite: (wr) => {
          if (armed && wr.kind === "IPAMBlock" && wr.op === "update") {
            throw Object.assign(new Error("conflict"), {
              [Symbol.for("tabby.error")]: true,
              code: "DATASTORE_CONFLICT",
            });
          }
        },
      });
      await ipam.autoAssign({ handleId: "h0", node: "n1", num4: 1 });
      armed = true;
      const e = await caught(client({ retries: 5 }).autoAssign({ handleId: "h1", node: "n1", num4: 1 }));
      expect(e.code).toBe("IPAM_BLOCK_CONFLICT");
      expect(e.message).toContain("block 10.0.0.");
      expect(await store.get("IPAMHandle", "h1")).toBeUndefined();
    });
  });
}

describe("ipam crash recovery of a claim", () => {
  const claimed = (
    w: ReturnType<typeof world>,
    cidr: string,
    owner: string,
    state: AffinitySpec["state"],
    block?: string,
  ) => {
    w.store.put("BlockAffinity", affinityName(owner, cidr), {
      state,
      node: owner,
      type: "host",
      cidr,
      deleted: false,
    });
    if (block !== undefined) {
      const spec: BlockSpec = newBlock(parseCidr(cidr)!, { affinity: `host:${block}`, sequenceNumber: 1 });
      w.store.put("IPAMBlock", blockName(cidr), spec);
    }
  };

  it("a pending affinity without its block: the next assignment creates the block and confirms", async () => {
    const w = world(small());
    claimed(w, "10.0.0.4/30", "n1", "pending");
    const r = await w.ipam.autoAssign({ handleId: "h", node: "n1", num4: 1 });
    expect(r.ipv4[0]!.block).toBe("10.0.0.4/30");
    expect((await w.store.get("BlockAffinity", affinityName("n1", "10.0.0.4/30")))!.spec.state).toBe(
      "confirmed",
    );
  });

  it("a pending affinity whose block is ours: confirmed and used", async () => {
    const w = world(small());
    claimed(w, "10.0.0.4/30", "n1", "pending", "n1");
    const r = await w.ipam.autoAssign({ handleId: "h", node: "n1", num4: 1 });
    expect(r.ipv4[0]!.block).toBe("10.0.0.4/30");
    expect((await w.store.get("BlockAffinity", affinityName("n1", "10.0.0.4/30")))!.spec.state).toBe(
      "confirmed",
    );
  });

  it("a pending affinity whose block another node won: deleted, and the node claims elsewhere", async () => {
    const w = world(small());
    claimed(w, "10.0.0.4/30", "n1", "pending", "n2");
    const r = await w.ipam.autoAssign({ handleId: "h", node: "n1", num4: 1 });
    expect(r.ipv4[0]!.block).toBe("10.0.0.0/30");
    expect(await w.store.get("BlockAffinity", affinityName("n1", "10.0.0.4/30"))).toBeUndefined();
  });

  it("a claimer that dies between creating the block and confirming leaves a block the next assignment uses", async () => {
    let die = false;
    const w = world(small(), undefined, {
      beforeWrite: (wr) => {
        if (die && wr.kind === "BlockAffinity" && wr.op === "update") throw new Error("killed");
      },
    });
    die = true;
    await expect(w.ipam.autoAssign({ handleId: "h", node: "n1", num4: 1 })).rejects.toThrow("killed");
    expect(Object.values(contents(w.store)).flat()).toHaveLength(2); // pending affinity + block
    die = false;
    const r = await w.client().autoAssign({ handleId: "h", node: "n1", num4: 1 });
    const aff = (await w.store.get("BlockAffinity", affinityName("n1", r.ipv4[0]!.block)))!;
    expect(aff.spec.state).toBe("confirmed");
    expect(contents(w.store).IPAMBlock).toHaveLength(1);
  });

  it("every allocation records the owner attributes given", async () => {
    const w = world(small());
    const r = await w.ipam.autoAssign({
      handleId: "k8s-pod-network.c1",
      node: "n1",
      num4: 1,
      attrs: { pod: "web", namespace: "default", node: "n1" },
    });
    const b = (await w.store.get("IPAMBlock", blockName(r.ipv4[0]!.block)))!;
    expect(allocationsOf(b.spec)[0]!.attribute).toEqual({
      handle_id: "k8s-pod-network.c1",
      secondary: { pod: "web", namespace: "default", node: "n1" },
    });
  });
});
