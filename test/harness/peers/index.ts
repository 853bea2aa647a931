/** The peer-daemon harness: BIRD 2, FRR and GoBGP as real BGP peers in test namespaces. */
export { Bird, type BirdOptions } from "./bird.js";
export { Frr, type FrrOptions } from "./frr.js";
export { Gobgp, type GobgpOptions } from "./gobgp.js";
export {
  type NeighborSpec,
  renderBirdConfig,
  renderFrrConfig,
  renderGobgpConfig,
  renderTemplate,
  type SpeakerSpec,
} from "./spec.js";
export * from "./types.js";
