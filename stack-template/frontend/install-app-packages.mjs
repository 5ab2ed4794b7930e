// Installs the app's own npm packages, listed in the app's package-app.json, on top of the
// stack's locked dependencies. It runs after `npm ci` / `npm install` (the stack's
// package.json calls it as postinstall) and never writes package.json or package-lock.json:
// in an app those are links into the stack checkout.
//
// package-app.json: {"dependencies": {"name": "1.2.3"}, "devDependencies": {...}}
// Versions are exact, because no lockfile records these packages.
//
// With --check it guards `npm install NAME`, `npm uninstall NAME` and the like in an app.
// npm runs the project's own scripts only for `npm ci` and a bare `npm install`, so this
// runs as the install script of the linked dependency app-packages-check, which npm runs
// in every install. Such a command would install NAME without recording it anywhere (save
// is off, so that it cannot write through the links) and drop the app's packages, which no
// lockfile knows. So the check fails it, naming the fix; npm then rolls node_modules back.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const LIST = "package-app.json";
const GUARD = "INSTALLING_APP_PACKAGES";
const HOOK = "app-packages-check";

function fail(message) {
  console.error(`error: ${LIST}: ${message}`);
  process.exit(1);
}

function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

function appPackages() {
  try {
    return readJson(LIST);
  } catch (error) {
    fail(`not valid JSON (${error.message}); fix the file and run npm ci again`);
  }
}

const checking = process.argv.includes("--check");
if (checking) {
  // An install script runs in the package's own (resolved) directory.
  process.chdir(process.env.npm_config_local_prefix ?? process.env.INIT_CWD ?? ".");
}
if (process.env[GUARD] || !existsSync(LIST)) process.exit(0);
const stack = readJson("package.json");
const stackOwned = { ...stack.dependencies, ...stack.devDependencies };

if (checking) {
  check();
  process.exit(0);
}

const wanted = appPackages();
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

// The top-level packages in node_modules right now (npm has unpacked the new tree).
function installed() {
  const found = new Map();
  const add = (name) => {
    try {
      found.set(name, readJson(join("node_modules", name, "package.json")));
    } catch {
      // not a package (.bin, .package-lock.json, a half-removed folder)
    }
  };
  for (const entry of readdirSync("node_modules")) {
    if (entry.startsWith("@")) {
      for (const name of readdirSync(join("node_modules", entry))) add(`${entry}/${name}`);
    } else if (!entry.startsWith(".")) add(entry);
  }
  return found;
}

function check() {
  // Only in an app (package.json links to the stack), and not for `npm ci`, whose
  // postinstall installs the app's packages itself.
  if (process.env.npm_command === "ci" || !lstatSync("package.json").isSymbolicLink()) return;
  const command = `npm ${process.env.npm_command ?? "install"}`;
  const locked = readJson("package-lock.json").packages ?? {};
  const wanted = appPackages();
  const listed = { ...wanted.dependencies, ...wanted.devDependencies };
  const packages = installed();

  const problems = [];
  // A package the stack locks, at another version: `npm install react@18`.
  for (const [name, manifest] of packages) {
    const lock = locked[`node_modules/${name}`];
    if (lock && !lock.link && lock.version !== manifest.version && name in stackOwned) {
      problems.push(
        `${name} is a stack package (${stackOwned[name]}): ${command} cannot change it from ` +
          `the app; change it in the stack's package.json`,
      );
    }
  }
  // Packages the stack's lockfile does not know: the ones this command adds, with their
  // dependencies. Name those that no other new package needs.
  const added = [...packages].filter(([name]) => !(`node_modules/${name}` in locked));
  const needed = new Set(
    added.flatMap(([, manifest]) =>
      Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies }),
    ),
  );
  let roots = added.filter(([name]) => !needed.has(name));
  if (roots.length === 0) roots = added;
  if (roots.length > 0) {
    const section = process.env.npm_config_save_dev === "true" ? "devDependencies" : "dependencies";
    const entries = roots.map(([name, manifest]) => `"${name}": "${manifest.version}"`);
    const fresh = roots.filter(([name, manifest]) => listed[name] !== manifest.version);
    problems.push(
      fresh.length === 0
        ? `${command} with package names does not install this app's packages; ` +
            `they are in ${LIST} already: run npm ci`
        : `${command} NAME does not record NAME anywhere in an app (package.json is the ` +
            `stack's), and drops the packages in ${LIST}. Add ${entries.join(", ")} to the ` +
            `"${section}" of ${LIST} and run npm ci`,
    );
  } else if (process.env.npm_command !== "install") {
    // `npm uninstall NAME`, `npm update`, ...: npm drops the app's packages, as no lockfile
    // lists them, and runs no postinstall to bring them back. (A bare `npm install` does.)
    const missing = Object.keys(listed).filter((name) => !packages.has(name));
    if (missing.length > 0) {
      problems.push(
        `${command} removes this app's packages (${missing.join(", ")}) from node_modules. ` +
          `To remove one, delete it from ${LIST}; then run npm ci`,
      );
    }
  }
  if (problems.length > 0) {
    for (const problem of problems) console.error(`error: ${problem}`);
    process.exit(1);
  }
}
