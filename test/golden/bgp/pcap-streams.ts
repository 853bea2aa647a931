/**
 * Reads a pcap with tshark and returns the TCP payload of each direction of each BGP connection,
 * reassembled by sequence number (retransmitted bytes dropped, a gap is an error), which is what
 * `tabby bgp decode` takes. Test-only: the product never shells out to tshark.
 */
import { run } from "../../harness/exec.js";

export interface Direction {
  readonly stream: number;
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  readonly bytes: Uint8Array;
}

export async function extractDirections(pcap: string): Promise<Direction[]> {
  const r = await run("tshark", [
    "-r",
    pcap,
    "-T",
    "fields",
    "-E",
    "separator=|",
    "-e",
    "tcp.stream",
    "-e",
    "ip.src",
    "-e",
    "ipv6.src",
    "-e",
    "tcp.srcport",
    "-e",
    "ip.dst",
    "-e",
    "ipv6.dst",
    "-e",
    "tcp.dstport",
    "-e",
    "tcp.seq_raw",
    "-e",
    "tcp.payload",
  ]);
  const dirs = new Map<string, { d: Omit<Direction, "bytes">; chunks: Buffer[]; next: number | undefined }>();
  for (const line of r.stdout.split("\n")) {
    if (line.trim() === "") continue;
    const [stream, ip4s, ip6s, sport, ip4d, ip6d, dport, seqRaw, payload] = line.split("|");
    const key = `${stream}|${ip4s || ip6s}|${sport}`;
    let e = dirs.get(key);
    if (e === undefined) {
      e = {
        d: {
          stream: Number(stream),
          src: ip4s || ip6s!,
          srcPort: Number(sport),
          dst: ip4d || ip6d!,
          dstPort: Number(dport),
        },
        chunks: [],
        next: undefined,
      };
      dirs.set(key, e);
    }
    if (!payload) continue;
    const data = Buffer.from(payload.replace(/:/g, ""), "hex");
    const seq = Number(seqRaw);
    if (e.next === undefined) e.next = seq;
    if (seq > e.next) throw new Error(`${pcap}: gap in stream ${key} at seq ${e.next}`);
    const skip = e.next - seq;
    if (skip >= data.length) continue; // pure retransmission
    e.chunks.push(data.subarray(skip));
    e.next = seq + data.length;
  }
  return [...dirs.values()]
    .map((e) => ({ ...e.d, bytes: new Uint8Array(Buffer.concat(e.chunks)) }))
    .filter((d) => d.bytes.length > 0);
}

/** The other direction of the same connection. */
export function reverseOf(all: readonly Direction[], d: Direction): Direction | undefined {
  return all.find((x) => x.stream === d.stream && x.src === d.dst && x.srcPort === d.dstPort);
}
