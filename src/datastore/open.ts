/**
 * Opens the datastore `chooseDatastore` picked. Only the embedded store exists so far; the Kubernetes
 * and etcd v3 backends come with the datastore issue, and asking for them fails plainly until then.
 */
import type { Clock } from "../util/clock.js";
import type { DatastoreChoice } from "./choose.js";
import { EmbeddedDatastore } from "./embedded.js";
import { DatastoreError } from "./errors.js";
import type { Datastore } from "./types.js";

export interface OpenOptions {
  readonly readOnly?: boolean;
  readonly clock?: Clock;
}

export async function openDatastore(choice: DatastoreChoice, options: OpenOptions = {}): Promise<Datastore> {
  switch (choice.type) {
    case "embedded":
      return EmbeddedDatastore.open({
        dir: choice.dir,
        ...(options.readOnly ? { readOnly: true } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      });
    case "kubernetes":
    case "etcdv3":
      throw new DatastoreError(
        "DATASTORE_UNSUPPORTED",
        `DATASTORE_TYPE=${choice.type} is not supported yet (comes with the datastore issue); unset DATASTORE_TYPE, KUBECONFIG and ETCD_ENDPOINTS to use the embedded store in TABBY_DATA_DIR`,
      );
  }
}
