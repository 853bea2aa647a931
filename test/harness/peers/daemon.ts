/**
 * What every daemon wrapper shares: waiting on sessions and routes by polling the daemon's own CLI, and
 * log tails in failure messages so a test that times out says why the daemon was unhappy.
 */
import { readFile } from "node:fs/promises";
import { eventually } from "../wait.js";
import type { BgpDaemon, BgpRoute, Family, PeerSession, SessionState } from "./types.js";

export abstract class DaemonBase implements BgpDaemon {
  abstract readonly kind: "bird" | "frr" | "gobgp";
  abstract readonly pid: number;
  abstract readonly logFile: string;
  abstract sessions(): Promise<PeerSession[]>;
  abstract routes(family: Family): Promise<BgpRoute[]>;
  abstract received(neighbor: string, family: Family): Promise<BgpRoute[]>;
  abstract advertised(neighbor: string, family: Family): Promise<BgpRoute[]>;
  abstract announce(prefix: string): Promise<void>;
  abstract withdraw(prefix: string): Promise<void>;
  abstract stop(): Promise<void>;

  async session(neighbor: string): Promise<PeerSession | undefined> {
    return (await this.sessions()).find((s) => s.neighbor === neighbor);
  }

  async waitForSession(
    neighbor: string,
    opts: { state?: SessionState; timeoutMs?: number } = {},
  ): Promise<PeerSession> {
    const want = opts.state ?? "Established";
    return this.withLog(() =>
      eventually(
        async () => {
          const s = await this.session(neighbor);
          if (s === undefined) throw new Error(`no session to ${neighbor} configured`);
          return s.state === want ? s : (undefined as PeerSession | undefined);
        },
        { what: `${this.kind} session to ${neighbor} to be ${want}`, timeoutMs: opts.timeoutMs ?? 30_000 },
      ),
    );
  }

  async waitForRoute(
    family: Family,
    prefix: string,
    opts: { gone?: boolean; timeoutMs?: number } = {},
  ): Promise<BgpRoute | undefined> {
    return this.withLog(async () => {
      const found = await eventually(
        async () => {
          const r = (await this.routes(family)).find((x) => x.prefix === prefix && x.best);
          if (opts.gone) return r === undefined ? { gone: true as const } : undefined;
          return r;
        },
        {
          what: `${this.kind} to ${opts.gone ? "lose" : "have"} a best route to ${prefix}`,
          timeoutMs: opts.timeoutMs ?? 30_000,
        },
      );
      return "gone" in found ? undefined : found;
    });
  }

  /** Appends the log's tail to errors thrown by `fn`. */
  protected async withLog<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const tail = await readFile(this.logFile, "utf8").then(
        (t) => t.split("\n").slice(-15).join("\n"),
        () => "(no log)",
      );
      (e as Error).message += `\n--- ${this.kind} log ${this.logFile} (tail) ---\n${tail}`;
      throw e;
    }
  }
}
