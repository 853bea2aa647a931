/** Whether a process accepts connections on a unix socket: a stale socket file refuses them. */
import { connect } from "node:net";

export function socketListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ path });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}
