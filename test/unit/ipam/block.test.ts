import { describe, expect, it } from "vitest";
import {
  addressOf,
  allocationsOf,
  assignFromBlock,
  assignOrdinal,
  freeCount,
  inUseCount,
  isEmpty,
  newBlock,
  nextSequenceNumber,
  ordinalOfAddress,
  releaseFromBlock,
  releaseHandleFromBlock,
  sequenceNumberOf,
  validateBlock,
} from "../../../ipam/block.js";
import { isIpamError } from "../../../ipam/errors.js";
import { parseCidr } from "../../../ipam/ip.js";
import { WINDOWS_HOST_RESERVED } from "../../../ipam/model.js";
import { noReservations, reservationFilter } from "../../../ipam/reservations.js";

const cidr = (s: string) => parseCidr(s)!;
const fresh = (s = "10.0.0.0/29", seq = 1000) => newBlock(cidr(s), { sequenceNumber: seq });

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isIpamError(e)) return e.code;
    throw e;
  }
  return "no error";
}

describe("ipam/block: layout", () => {
  it("a new block has one free slot per address and every ordinal in the FIFO", () => {
    const b = newBlock(cidr("10.244.1.0/26"), {
      affinity: "host:n1",
      affinityClaimTime: "2026-01-01T00:00:00Z",
      sequenceNumber: 7,
    });
    expect(b.cidr).toBe("10.244.1.0/26");
    expect(b.allocations).toHaveLength(64);
    expect(b.allocations.every((a) => a === null)).toBe(true);
    expect(b.unallocated).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(b.attributes).toEqual([]);
    expect(b.affinity).toBe("host:n1");
    expect(b.sequenceNumber).toBe(7);
    expect(b.sequenceNumberForAllocation).toEqual({});
    expect(b.deleted).toBe(false);
    expect(validateBlock(b)).toBeUndefined();
  });

  it("an unaffine block has no affinity field at all", () => {
    expect("affinity" in fresh()).toBe(false);
  });

  it("Windows blocks pre-allocate the first 3 and the last address to the reserved handle", () => {
    const b = newBlock(cidr("10.0.0.0/28"), { sequenceNumber: 1, hostReserved: WINDOWS_HOST_RESERVED });
    expect(b.unallocated).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect([0, 1, 2, 15].map((o) => b.allocations[o])).toEqual([0, 0, 0, 0]);
    expect(b.attributes).toEqual([
      { handle_id: "windows-reserved-ipam-handle", secondary: { note: "windows host rsvd" } },
    ]);
    expect(isEmpty(b)).toBe(true); // reserved addresses do not make a block "in use"
    expect(inUseCount(b)).toBe(4);
    expect(validateBlock(b)).toBeUndefined();
  });

  it("maps ordinals to addresses from the block's network address, IPv6 too", () => {
    const b = fresh("fd00::40/122");
    expect(addressOf(b, 0)).toBe("fd00::40");
    expect(addressOf(b, 63)).toBe("fd00::7f");
    expect(ordinalOfAddress(b, "fd00::41")).toBe(1);
    expect(ordinalOfAddress(b, "fd00::80")).toBeUndefined();
  });
});

describe("ipam/block: assign", () => {
  it("takes addresses from the head of the FIFO, first and last address included (Linux)", () => {
    const r = assignFromBlock(fresh(), 8, "h", {}, noReservations);
    expect(r.ordinals).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(r.block.unallocated).toEqual([]);
    expect(addressOf(r.block, 0)).toBe("10.0.0.0");
    expect(addressOf(r.block, 7)).toBe("10.0.0.7");
  });

  it("records the block's sequence number per ordinal and leaves the input alone", () => {
    const b = fresh();
    const r = assignFromBlock(b, 2, "h", { pod: "p" }, noReservations);
    expect(r.block.sequenceNumberForAllocation).toEqual({ "0": 1000, "1": 1000 });
    expect(r.block.attributes).toEqual([{ handle_id: "h", secondary: { pod: "p" } }]);
    expect(r.block.allocations.slice(0, 3)).toEqual([0, 0, null]);
    expect(b.unallocated).toHaveLength(8);
    expect(b.attributes).toEqual([]);
  });

  it("shares one attribute between allocations of the same owner and adds one per new owner", () => {
    let b = assignFromBlock(fresh(), 1, "h1", { pod: "a" }, noReservations).block;
    b = assignFromBlock(b, 1, "h1", { pod: "a" }, noReservations).block;
    b = assignFromBlock(b, 1, "h2", { pod: "b" }, noReservations).block;
    expect(b.attributes).toHaveLength(2);
    expect(b.allocations.slice(0, 3)).toEqual([0, 0, 1]);
  });

  it("skips reserved addresses, which keep their place in the FIFO", () => {
    const f = reservationFilter(["10.0.0.1/32", "10.0.0.2"]);
    const r = assignFromBlock(fresh(), 2, "h", {}, f);
    expect(r.ordinals).toEqual([0, 3]);
    expect(r.block.unallocated).toEqual([1, 2, 4, 5, 6, 7]);
    expect(freeCount(r.block, f)).toBe(4);
    expect(freeCount(r.block, noReservations)).toBe(6);
    expect(freeCount(fresh(), reservationFilter(["10.0.0.0/29"]))).toBe(0);
  });

  it("returns the same block when nothing is free", () => {
    const full = assignFromBlock(fresh(), 8, "h", {}, noReservations).block;
    const r = assignFromBlock(full, 1, "h", {}, noReservations);
    expect(r.ordinals).toEqual([]);
    expect(r.block).toBe(full);
  });

  it("assigns one given ordinal, idempotently for its handle, never for another", () => {
    const r = assignOrdinal(fresh(), 5, "h", {});
    expect(r.already).toBe(false);
    expect(r.block.unallocated).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(r.block.sequenceNumberForAllocation).toEqual({ "5": 1000 });
    expect(assignOrdinal(r.block, 5, "h", {}).already).toBe(true);
    expect(code(() => assignOrdinal(r.block, 5, "other", {}))).toBe("IPAM_ADDRESS_IN_USE");
  });
});

describe("ipam/block: release", () => {
  const two = () => assignFromBlock(fresh(), 3, "h", { pod: "p" }, noReservations).block;

  it("puts released ordinals at the tail of the FIFO (longest-free reused first)", () => {
    const r = releaseFromBlock(two(), [{ address: "10.0.0.1" }]);
    expect(r.released).toEqual(["10.0.0.1"]);
    expect(r.block.unallocated).toEqual([3, 4, 5, 6, 7, 1]);
    expect(r.block.sequenceNumberForAllocation).toEqual({ "0": 1000, "2": 1000 });
    expect(r.countByHandle).toEqual(new Map([["h", 1]]));
    expect(assignFromBlock(r.block, 1, "x", {}, noReservations).ordinals).toEqual([3]);
  });

  it("refuses a release whose sequence number is stale, and frees nothing", () => {
    const b = two();
    expect(code(() => releaseFromBlock(b, [{ address: "10.0.0.0", sequenceNumber: 999 }]))).toBe(
      "IPAM_BAD_SEQUENCE_NUMBER",
    );
    expect(releaseFromBlock(b, [{ address: "10.0.0.0", sequenceNumber: 1000 }]).released).toEqual([
      "10.0.0.0",
    ]);
  });

  it("refuses a release naming another handle", () => {
    expect(code(() => releaseFromBlock(two(), [{ address: "10.0.0.0", handle: "other" }]))).toBe(
      "IPAM_HANDLE_MISMATCH",
    );
  });

  it("reports addresses that were not allocated instead of failing (release is idempotent)", () => {
    const r = releaseFromBlock(two(), [{ address: "10.0.0.6", sequenceNumber: 5 }, { address: "10.0.0.2" }]);
    expect(r.notAllocated).toEqual(["10.0.0.6"]);
    expect(r.released).toEqual(["10.0.0.2"]);
  });

  it("counts a duplicated address once", () => {
    const r = releaseFromBlock(two(), [{ address: "10.0.0.0" }, { address: "10.0.0.0" }]);
    expect(r.released).toEqual(["10.0.0.0"]);
    expect(r.block.unallocated.filter((o) => o === 0)).toHaveLength(1);
  });

  it("drops attributes no allocation uses and renumbers the others", () => {
    let b = assignFromBlock(fresh(), 1, "a", {}, noReservations).block;
    b = assignFromBlock(b, 1, "b", {}, noReservations).block;
    b = assignFromBlock(b, 1, "c", {}, noReservations).block;
    const r = releaseFromBlock(b, [{ address: "10.0.0.1" }]);
    expect(r.block.attributes).toEqual([{ handle_id: "a" }, { handle_id: "c" }]);
    expect(r.block.allocations.slice(0, 3)).toEqual([0, null, 1]);
    expect(validateBlock(r.block)).toBeUndefined();
  });

  it("releases everything of one handle", () => {
    let b = assignFromBlock(fresh(), 2, "a", {}, noReservations).block;
    b = assignFromBlock(b, 1, "b", {}, noReservations).block;
    const r = releaseHandleFromBlock(b, "a");
    expect(r.released).toEqual(["10.0.0.0", "10.0.0.1"]);
    expect(allocationsOf(r.block).map((x) => [x.address, x.handle])).toEqual([["10.0.0.2", "b"]]);
    expect(sequenceNumberOf(r.block, 0)).toBe(0);
    expect(isEmpty(releaseHandleFromBlock(r.block, "b").block)).toBe(true);
  });
});

describe("ipam/block: validateBlock (calicoctl ipam check)", () => {
  it("names what is inconsistent", () => {
    const b = assignFromBlock(fresh(), 1, "a", {}, noReservations).block;
    expect(validateBlock({ ...b, allocations: [5, ...b.allocations.slice(1)] })).toBe(
      "allocation 0 indexes a nonexistent attribute 5",
    );
    expect(validateBlock({ ...b, attributes: [...b.attributes, {}] })).toBe(
      "attribute index 1 exists but is not indexed by an allocation",
    );
    expect(validateBlock({ ...b, unallocated: [...b.unallocated, 0] })).toBe(
      "ordinal 0 is allocated but appears in Unallocated",
    );
    expect(validateBlock({ ...b, unallocated: [1, 1, 2, 3, 4, 5, 6, 7] })).toBe(
      "ordinal 1 appears more than once in Unallocated array",
    );
    expect(validateBlock({ ...b, unallocated: [1, 2, 3, 4, 5, 6, 9] })).toBe(
      "ordinal 9 appears in the Unallocated array but is out of the block",
    );
    expect(validateBlock({ ...b, unallocated: [1, 2, 3] })).toBe(
      "expected 8 addresses in this block, but Unallocated (3) + Allocated (1) = 4",
    );
  });
});

describe("ipam/block: sequence numbers", () => {
  it("count up by one, and past 2^53 (Calico's nanosecond seeds) step to the next double so a write still changes them", () => {
    expect(nextSequenceNumber(41)).toBe(42);
    const calico = JSON.parse("1763800000123456789") as number; // read rounded
    const next = nextSequenceNumber(calico);
    expect(next).toBeGreaterThan(calico);
    expect(Number.isInteger(next)).toBe(true);
    // What tabby writes, Calico parses as an exact uint64 and tabby reads back as the same number.
    expect(JSON.stringify(next)).toMatch(/^\d+$/);
    expect(JSON.parse(JSON.stringify(next))).toBe(next);
    expect(nextSequenceNumber(next)).toBeGreaterThan(next);
  });
});
