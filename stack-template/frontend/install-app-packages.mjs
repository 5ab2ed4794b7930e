// Installs the app's own npm packages, listed in the app's package-app.json, on top of the
// stack's locked dependencies. It runs after `npm ci` / `npm install` (the stack's
// package.json calls it as postinstall) and never writes package.json or package-lock.json:
// in an app those are links into the stack checkout.
//
// package-app.json: {"dependencies": {"name": "1.2.3"}, "devDependencies": {...}}
// Versions are exact, because no lockfile records these packages.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const LIST = "package-app.json";
const GUARD = "INSTALLING_APP_PACKAGES";

function fail(message) {
  console.error(`error: ${LIST}: ${message}`);
  process.exit(1);
}

if (process.env[GUARD] || !existsSync(LIST)) process.exit(0);

let wanted;
try {
  wanted = JSON.parse(readFileSync(LIST, "utf8"));
} catch (error) {
  fail(`not valid JSON (${error.message}); fix the file and run npm ci again`);
}
const stack = JSON.parse(readFileSync("package.json", "utf8"));
const stackOwned = { ...stack.dependencies, ...stack.devDependencies };

const specs = [];
for (const section of ["dependencies", "devDependencies"]) {
  for (const [name, version] of Object.entries(wanted[section] ?? {})) {
    if (name in stackOwned) {
      fail(`${name} is already a stack dependency (${stackOwned[name]}); remove it from ${LIST}`);
    }
    if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version)) {
      fail(`${name}: "${version}" is not an exact version; write it as "1.2.3"`);
    }
    specs.push(`${name}@${version}`);
  }
}
if (specs.length === 0) process.exit(0);

console.log(`Installing the app's packages: ${specs.join(" ")}`);
execFileSync(
  process.execPath,
  [process.env.npm_execpath, "install", "--no-save", "--no-audit", "--no-fund", ...specs],
  { stdio: "inherit", env: { ...process.env, [GUARD]: "1" } },
);
