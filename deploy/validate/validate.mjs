// Validates every object in deploy/k8s/*.yaml against the Kubernetes API schema
// (npm kubernetes-models: the official OpenAPI schemas, compiled with ajv) and
// ServiceMonitors against the Prometheus Operator's CRD schema. Unknown fields,
// wrong types and missing required fields fail.
//   cd deploy/validate && npm ci && node validate.mjs [FILE.yaml...]
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

let objects = 0, failures = 0;
for (const file of files) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) {
      console.error(`${file}: YAML error: ${doc.errors[0].message}`);
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
      console.error(`${where}: no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`);
      failures++;
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`ok: ${where} (${obj.apiVersion})`);
      objects++;
    } catch (e) {
      console.error(`FAIL: ${where}: ${e.message}`);
      failures++;
    }
  }
}
console.log(`${objects} objects valid, ${failures} failed`);
process.exit(failures === 0 && objects > 0 ? 0 : 1);
