/**
 * The embedded Kubernetes API server: the REST subset that kubectl, @kubernetes/client-node (the
 * kubernetes datastore backend) and tabby's agents use, served over plain HTTP from an ObjectStore.
 * Routes follow the API server's layout (/api/v1/[namespaces/<ns>/]<plural>[/<name>[/status]] and
 * /apis/<group>/<version>/...), requests are authorised by one bearer token, and every failure is a
 * Status object (status.ts). Semantics live in handlers.ts, watches in watch-stream.ts, discovery and
 * OpenAPI in discovery.ts, `kubectl get` tables in table.ts. Not served: aggregated discovery, list
 * pagination (a limit is ignored, which the API allows), deletecollection, protobuf, server-side
 * apply's field ownership, admission webhooks.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Clock, systemClock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import {
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openApiV3Doc,
  openApiV3Index,
  versionInfo,
} from "./discovery.js";
import { ResourceHandlers } from "./handlers.js";
import type { KubeObject, ObjectStore } from "./object-store.js";
import {
  CRDS,
  NAMESPACES,
  type ResourceType,
  storeKey,
  storePrefix,
  TypeRegistry,
} from "./resource-types.js";
import {
  ApiError,
  badRequest,
  methodNotAllowed,
  pathNotFound,
  unauthorized,
  unsupportedMediaType,
} from "./status.js";
import { toTable } from "./table.js";
import { serveWatch } from "./watch-stream.js";

export interface ApiServerOptions {
  readonly store: ObjectStore;
  /**
   * Clients that send `Authorization` must send `Bearer <token>`. Clients that send none are let in only
   * when the server listens on loopback: kubectl (client-go) never sends credentials over plain HTTP,
   * and Node has no API to make the certificate TLS would need. Absent: no authentication.
   */
  readonly token?: string;
  readonly clock?: Clock;
  readonly newUid?: () => string;
  /** How often watches that allow bookmarks get one (default 60 s, as the API server roughly does). */
  readonly bookmarkIntervalMs?: number;
  readonly logger?: Logger;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const INITIAL_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

interface Route {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

export class ApiServer {
  readonly registry = new TypeRegistry();
  private readonly handlers: ResourceHandlers;
  private readonly clock: Clock;
  private readonly servers: Server[] = [];
  private address = "";

  constructor(private readonly options: ApiServerOptions) {
    this.clock = options.clock ?? systemClock;
    this.handlers = new ResourceHandlers(options.store, this.registry, {
      clock: this.clock,
      ...(options.newUid !== undefined ? { newUid: options.newUid } : {}),
    });
    const crdPrefix = storePrefix(CRDS);
    this.registry.rebuild(options.store.list(crdPrefix));
    options.store.subscribe((e) => {
      if (e.key.startsWith(crdPrefix)) this.registry.rebuild(options.store.list(crdPrefix));
    });
  }

  get store(): ObjectStore {
    return this.options.store;
  }

  /** Creates an object as a POST would (for the server's owner: CRDs installed at start). */
  async createObject(t: ResourceType, namespace: string | undefined, body: unknown): Promise<KubeObject> {
    return (await this.handlers.create(t, namespace, body, new URLSearchParams())).object;
  }

  /** Creates the namespaces every cluster has, if missing. */
  async bootstrap(): Promise<void> {
    for (const ns of INITIAL_NAMESPACES) {
      if (this.options.store.get(storeKey(NAMESPACES, ns)) !== undefined) continue;
      await this.handlers.create(NAMESPACES, undefined, { metadata: { name: ns } }, new URLSearchParams());
    }
  }

  /** Listens on `host:port` (port 0 picks one); returns the base URL. */
  async listen(port: number, host = "127.0.0.1"): Promise<string> {
    await this.bootstrap();
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.servers.push(server);
    const a = server.address() as AddressInfo;
    const h = a.family === "IPv6" ? `[${a.address}]` : a.address;
    // Discovery names the first address; a second listen (the lab's loopback one) is another door.
    if (this.address === "") this.address = `${h}:${a.port}`;
    return `http://${h}:${a.port}`;
  }

  async close(): Promise<void> {
    const servers = this.servers.splice(0);
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    try {
      const auth = req.headers.authorization;
      if (
        this.options.token !== undefined &&
        auth !== `Bearer ${this.options.token}` &&
        (auth !== undefined || !isLoopback(req.socket.localAddress))
      ) {
        throw unauthorized();
      }
      await this.route(req, res, url);
    } catch (e) {
      if (!(e instanceof ApiError)) {
        this.options.logger?.error({ err: e, method: req.method, path: url.pathname }, "API request failed");
      }
      const err =
        e instanceof ApiError
          ? e
          : new ApiError(500, "InternalError", `Internal error occurred: ${(e as Error).message}`);
      if (!res.headersSent) sendJson(res, err.code, err.toStatus());
      else res.end();
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const parts = path
      .split("/")
      .filter((p) => p !== "")
      .map(decodeURIComponent);
    const method = req.method ?? "GET";
    // Discovery and OpenAPI.
    if (method === "GET") {
      const doc = this.discovery(parts);
      if (doc !== undefined) {
        sendJson(res, 200, doc);
        return;
      }
    }
    const route = this.parseRoute(parts);
    if (route === undefined) throw pathNotFound(path);
    const { type: t, namespace, name, subresource } = route;
    const query = url.searchParams;
    // Only JSON is spoken; client-go falls back to JSON when protobuf is refused with 415.
    const contentType = req.headers["content-type"] ?? "";
    if (contentType.includes("protobuf")) throw unsupportedMediaType(contentType);
    const text = ["POST", "PUT", "PATCH", "DELETE"].includes(method) ? await readBody(req) : "";
    const json = () => {
      if (text === "") return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch (e) {
        throw badRequest(`error decoding request body: ${(e as Error).message}`);
      }
    };
    const wantsTable = /as=Table/.test(req.headers.accept ?? "");
    const now = this.clock.wallTime();
    if (name === undefined) {
      if (method === "GET" && (query.get("watch") === "true" || query.get("watch") === "1")) {
        const matches = this.handlers.matcher(query);
        serveWatch(
          this.options.store,
          {
            type: t,
            namespace,
            query,
            matches,
            render: (o) => (wantsTable ? toTable(t, [o], o.metadata.resourceVersion ?? "", now) : o),
          },
          res,
          this.clock,
          this.options.bookmarkIntervalMs ?? 60_000,
        );
        return;
      }
      if (method === "GET") {
        const list = this.handlers.list(t, namespace, query) as {
          metadata: { resourceVersion: string };
          items: KubeObject[];
        };
        sendJson(res, 200, wantsTable ? toTable(t, list.items, list.metadata.resourceVersion, now) : list);
        return;
      }
      if (method === "POST") {
        const r = await this.handlers.create(t, namespace, json(), query);
        sendJson(res, 201, r.object, r.warnings);
        return;
      }
      throw methodNotAllowed(method);
    }
    if (subresource !== undefined && subresource !== "status") throw pathNotFound(path);
    if (subresource === "status" && !t.statusSubresource) throw pathNotFound(path);
    switch (method) {
      case "GET": {
        const o = this.handlers.get(t, namespace, name);
        sendJson(res, 200, wantsTable ? toTable(t, [o], o.metadata.resourceVersion ?? "", now) : o);
        return;
      }
      case "PUT": {
        const r = await this.handlers.update(t, namespace, name, json(), subresource, query);
        sendJson(res, 200, r.object, r.warnings);
        return;
      }
      case "PATCH": {
        const r = await this.handlers.patch(
          t,
          namespace,
          name,
          req.headers["content-type"] ?? "",
          text,
          subresource,
          query,
        );
        sendJson(res, r.created ? 201 : 200, r.object, r.warnings);
        return;
      }
      case "DELETE": {
        if (subresource !== undefined) throw methodNotAllowed(method);
        sendJson(res, 200, await this.handlers.delete(t, namespace, name, json()));
        return;
      }
      default:
        throw methodNotAllowed(method);
    }
  }

  private discovery(parts: readonly string[]): unknown {
    const r = this.registry;
    const key = parts.join("/");
    if (key === "version") return versionInfo();
    if (key === "api") return apiVersions(this.address);
    if (key === "apis") return apiGroupList(r);
    if (key === "api/v1") return apiResourceList(r, "", "v1");
    if (parts[0] === "apis" && parts.length === 2) return apiGroupDoc(r, parts[1]!);
    if (parts[0] === "apis" && parts.length === 3) return apiResourceList(r, parts[1]!, parts[2]!);
    if (key === "openapi/v3") return openApiV3Index(r);
    if (parts[0] === "openapi" && parts[1] === "v3" && parts.length >= 4) {
      const gv = parts[2] === "api" ? parts.slice(3).join("/") : parts.slice(3).join("/");
      return openApiV3Doc(r, gv);
    }
    return undefined;
  }

  private parseRoute(parts: readonly string[]): Route | undefined {
    let group: string;
    let version: string;
    let rest: readonly string[];
    if (parts[0] === "api" && parts.length >= 3) {
      group = "";
      version = parts[1]!;
      rest = parts.slice(2);
    } else if (parts[0] === "apis" && parts.length >= 4) {
      group = parts[1]!;
      version = parts[2]!;
      rest = parts.slice(3);
    } else return undefined;
    // /namespaces/<ns>/<plural>/... is a namespaced resource; /namespaces/<name>[/status] the namespace.
    if (rest[0] === "namespaces" && rest.length >= 3 && rest[2] !== "status" && rest[2] !== "finalize") {
      const t = this.registry.find(group, version, rest[2]!);
      if (t === undefined || !t.namespaced) return undefined;
      return { type: t, namespace: rest[1], name: rest[3], subresource: rest[4] };
    }
    const t = this.registry.find(group, version, rest[0]!);
    if (t === undefined) return undefined;
    // A namespaced plural without a namespace is a list or watch across all namespaces.
    if (t.namespaced && rest.length > 1) return undefined;
    return { type: t, namespace: undefined, name: rest[1], subresource: rest[2] };
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown, warnings: readonly string[] = []): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-cache, private",
  };
  if (warnings.length > 0) headers.warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, "RequestEntityTooLarge", "the request body is too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || a.startsWith("127.");
}
