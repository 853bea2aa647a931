/**
 * metav1.Condition, the status entry Kubernetes resources share (IPPool's `Allocatable` condition in
 * Calico v3.32+), with the CRD schema Kubernetes generates for it. Pure.
 */
import type { ArraySchema, ObjectSchemaOf } from "./schema.js";

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

const conditionSchema = {
  type: "object",
  required: ["lastTransitionTime", "message", "reason", "status", "type"],
  properties: {
    type: {
      type: "string",
      maxLength: 316,
      presence: "always",
      description: "type of condition in CamelCase or in foo.example.com/CamelCase.",
    },
    status: {
      type: "string",
      enum: ["True", "False", "Unknown"],
      presence: "always",
      description: "status of the condition, one of True, False, Unknown.",
    },
    observedGeneration: {
      type: "integer",
      format: "int64",
      minimum: 0,
      description: "the .metadata.generation that the condition was set based upon.",
    },
    lastTransitionTime: {
      type: "string",
      format: "date-time",
      check: "dateTime",
      presence: "always",
      description: "last time the condition transitioned from one status to another.",
    },
    reason: {
      type: "string",
      maxLength: 1024,
      presence: "always",
      pattern: {
        crd: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        js: /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/,
        rule: "must be a CamelCase reason",
      },
      description: "a programmatic identifier indicating the reason for the condition's last transition.",
    },
    message: {
      type: "string",
      maxLength: 32768,
      presence: "always",
      description: "a human readable message indicating details about the transition.",
    },
  },
} as const satisfies ObjectSchemaOf<Condition>;

export const conditionsSchema: ArraySchema = {
  type: "array",
  items: conditionSchema,
  listType: "map",
  listMapKeys: ["type"],
};
