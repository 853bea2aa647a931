/**
 * What tabby knows about one resource kind: its names (calicoctl's aliases, the CRD's plural and short
 * names), its schema, its defaults and rules, and how `tabbyctl get` prints it. Each kind file exports
 * one `KindDef`; registry.ts lists them. Rules come in three strengths, as in Calico: `validate` looks
 * at the resource alone (validator.go + CRD CEL rules), `validateWrite` also sees the stored object being
 * replaced and the other stored resources (clientv3: immutable fields, pool overlap, filter existence).
 */
import type { FieldIssue, Issues } from "./issues.js";
import type { Resource } from "./meta.js";
import type { ObjectSchema } from "./schema.js";

/** What a write-time rule may look at. Pure data: the CLI or datastore fills it before validating. */
export interface WriteContext {
  readonly op: "create" | "update";
  /** The stored object an update replaces. */
  readonly old?: Resource;
  /** Stored resources of a kind, as they will be once earlier writes of the same batch are applied. */
  list(kind: string): readonly Resource[];
}

/** Lookups a table cell may need (calicoctl's `config "asnumber"`). */
export interface TableContext {
  /** The cluster's default AS number: BGPConfiguration `default` asNumber, else 64512. */
  readonly defaultAsNumber: number;
}

export interface PrinterColumn {
  readonly name: string;
  readonly type: "string" | "integer" | "boolean" | "date";
  readonly jsonPath: string;
  readonly description: string;
}

export interface KindDef {
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  /** Names `tabbyctl get` accepts (calicoctl's resourcemgr aliases), lower case. */
  readonly aliases: readonly string[];
  readonly namespaced: boolean;
  /** crd.projectcalico.org/v1 naming where it differs (IPAMConfiguration is stored as IPAMConfig). */
  readonly crd?: { readonly kind: string; readonly plural: string; readonly singular: string };
  readonly shortNames?: readonly string[];
  readonly printerColumns?: readonly PrinterColumn[];
  /** The CRD has a status subresource. */
  readonly statusSubresource?: boolean;
  /** Not a CRD in Kubernetes mode (Calico derives Node and WorkloadEndpoint from Nodes and Pods). */
  readonly noCrd?: boolean;
  /** calicoctl cannot write it (IPAM-managed kinds); tabbyctl offers get and delete only. */
  readonly readOnly?: boolean;
  readonly spec: ObjectSchema;
  /** The spec as crd.projectcalico.org/v1 stores it, where that differs from projectcalico.org/v3. */
  readonly crdSpec?: ObjectSchema;
  readonly status?: ObjectSchema;
  /** Fills Calico's defaults into a decoded spec (clientv3 + CRD defaults). Returns a new spec. */
  readonly defaults?: (spec: Record<string, unknown>, res: Resource) => Record<string, unknown>;
  /** Rules over the one resource (after defaulting). */
  readonly validate?: (res: Resource, issues: Issues) => void;
  /** Rules that need the stored state. */
  readonly validateWrite?: (res: Resource, ctx: WriteContext) => readonly FieldIssue[];
  readonly table: {
    readonly columns: readonly string[];
    readonly wide: readonly string[];
    cell(res: Resource, column: string, ctx: TableContext): string;
  };
}
