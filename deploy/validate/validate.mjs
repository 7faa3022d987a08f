// Validates every object in deploy/k8s/*.yaml against the Kubernetes API schema (npm
// kubernetes-models: the official OpenAPI schemas, compiled with ajv) and ServiceMonitors
// against the Prometheus Operator's CRD schema: wrong types, missing required fields and
// values outside a schema's enum fail. Those schemas allow unknown fields (the API server
// drops them silently), so this script is stricter: every key of every object must be a
// field the schema knows (a misspelled `sizeLimt` fails), and a few enums that the API
// documents but its OpenAPI schema leaves as plain strings are checked (EXTRA_ENUMS).
//   cd deploy/validate && npm ci && node validate.mjs [FILE.yaml...]
// Exit 0 when every object is valid, 1 otherwise; each failure names the file, the
// object (Kind/name), the path and the offending key or value.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const k8sDir = join(here, "..", "k8s");
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : readdirSync(k8sDir).filter((f) => f.endsWith(".yaml")).sort().map((f) => join(k8sDir, f));

// apiVersion -> the module exporting its kinds.
function moduleFor(apiVersion) {
  if (apiVersion === "monitoring.coreos.com/v1") {
    return "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
  }
  return `kubernetes-models/${apiVersion}`;  // v1, apps/v1, batch/v1, ...
}

// Enums the Kubernetes API documents whose OpenAPI schema is a plain string.
const EXTRA_ENUMS = [
  {
    // core/v1 StorageMedium: "" (the node's disk), Memory (tmpfs), HugePages[-<size>].
    path: /\.emptyDir\.medium$/,
    ok: (v) => v === "" || v === "Memory" || v === "HugePages" || /^HugePages-\d+(Ki|Mi|Gi)$/.test(v),
    expected: '"", "Memory", "HugePages" or "HugePages-<size>"',
  },
];

// The ajv errors of validating obj with Model's schema ([] when valid).
function schemaErrors(Model, obj) {
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    return e.errors ?? [{ instancePath: "", message: e.message }];
  }
}

// JSON pointer ("/spec/volumes/0") -> readable path ("spec.volumes[0]").
function readable(pointer) {
  return pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}
const pointerOf = (parts) => parts.map((p) => "/" + String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("");

// Every key of every object in obj, as a path (array of keys and indexes), parents first.
function* keyPaths(value, parts = []) {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* keyPaths(value[i], [...parts, i]);
  } else if (value !== null && typeof value === "object") {
    for (const k of Object.keys(value)) {
      yield [...parts, k];
      yield* keyPaths(value[k], [...parts, k]);
    }
  }
}

// A copy of obj whose value at path is a Symbol, which fits no schema type: if the schema
// knows the key, validation fails at that path; if it does not, the key is ignored.
function withProbe(obj, path) {
  const copy = JSON.parse(JSON.stringify(obj));
  let o = copy;
  for (const p of path.slice(0, -1)) o = o[p];
  o[path[path.length - 1]] = Symbol("probe");
  return copy;
}

// The unknown keys and bad enum values of a schema-valid obj, as messages.
function strictProblems(Model, obj) {
  const problems = [];
  const unknown = [];
  for (const path of keyPaths(obj)) {
    if (unknown.some((u) => u.every((p, i) => path[i] === p))) continue;  // under an unknown key
    const pointer = pointerOf(path);
    const errs = schemaErrors(Model, withProbe(obj, path));
    if (!errs.some((e) => e.instancePath === pointer || e.instancePath.startsWith(pointer + "/"))) {
      unknown.push(path);
      problems.push(`${readable(pointer)}: unknown field "${path[path.length - 1]}" (the schema of ${readable(pointerOf(path.slice(0, -1))) || "the object"} has no such key; misspelled?)`);
    }
  }
  for (const path of keyPaths(obj)) {
    const where = readable(pointerOf(path));
    let v = obj;
    for (const p of path) v = v[p];
    for (const e of EXTRA_ENUMS) {
      if (e.path.test(where) && !(typeof v === "string" && e.ok(v))) {
        problems.push(`${where}: bad value ${JSON.stringify(v)}: expected ${e.expected}`);
      }
    }
  }
  return problems;
}

let objects = 0, failures = 0;
for (const file of files) {
  let docs;
  try {
    docs = parseAllDocuments(readFileSync(file, "utf8"));
  } catch (e) {
    console.error(`FAIL: ${file}: cannot read: ${e.message}`);
    failures++;
    continue;
  }
  for (const doc of docs) {
    if (doc.errors.length) {
      console.error(`FAIL: ${file}: YAML error: ${doc.errors[0].message}`);
      failures++;
      continue;
    }
    const obj = doc.toJS();
    if (obj == null) continue;
    const where = `${file}: ${obj.kind}/${obj.metadata?.name}`;
    let Model;
    try {
      Model = (await import(moduleFor(obj.apiVersion)))[obj.kind];
    } catch (e) {
      Model = undefined;
    }
    if (!Model) {
      console.error(`FAIL: ${where}: no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`);
      failures++;
      continue;
    }
    const errs = schemaErrors(Model, obj);
    const problems = errs.length
      ? errs.map((e) => `${readable(e.instancePath) || "(the object)"}: ${e.message}` +
          (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : "") +
          (e.instancePath ? ` (found ${JSON.stringify(e.instancePath.split("/").slice(1).reduce((o, p) => o?.[p], obj))})` : ""))
      : strictProblems(Model, obj);
    if (problems.length) {
      for (const p of problems) console.error(`FAIL: ${where}: ${p}`);
      failures++;
    } else {
      console.log(`ok: ${where} (${obj.apiVersion})`);
      objects++;
    }
  }
}
console.log(`${objects} objects valid, ${failures} failed`);
process.exit(failures === 0 && objects > 0 ? 0 : 1);
