// Installs the app's own npm packages, listed in the app's package-app.json, on top of the
// stack's locked dependencies. It runs after `npm ci` / `npm install` (the stack's
// package.json calls it as postinstall) and never writes package.json or package-lock.json:
// in an app those are links into the stack checkout.
//
// package-app.json: {"dependencies": {"name": "1.2.3"}, "devDependencies": {...}}
// Versions are exact. package-app.lock.json (written by `<stack>/stack lock --app .`, owned
// by the app) holds every package they bring, transitive ones included, as npm resolved them
// on top of the stack's package-lock.json. This script merges the two locks into a scratch
// folder (node_modules/.app-packages), runs `npm ci` there and moves the tree it installed
// into node_modules: the same tree on every install, and nothing written through the links.
// A lock made for another package-app.json (or another stack lock) fails, naming the fix.
//
// With --check it guards `npm install NAME`, `npm uninstall NAME` and the like in an app.
// npm runs the project's own scripts only for `npm ci` and a bare `npm install`, so this
// runs as the install script of the linked dependency app-packages-check, which npm runs
// in every install. Such a command would install NAME without recording it anywhere (save
// is off, so that it cannot write through the links) and drop the app's packages, which no
// lockfile knows. So the check fails it, naming the fix; npm then rolls node_modules back.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

const LIST = "package-app.json";
const LOCK = "package-app.lock.json";
const SCRATCH = join("node_modules", ".app-packages");
const GUARD = "INSTALLING_APP_PACKAGES";
const HOOK = "app-packages-check";

function fail(message, file = LIST) {
  console.error(`error: ${file}: ${message}`);
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

const merged = mergedLock(appLock(wanted));
console.log(`Installing the app's packages from ${LOCK}: ${specs.join(" ")}`);
installLocked(merged);
process.exit(0);

// The command that rewrites the app's lock: the stack tool, run in the app's folder.
function lockCommand() {
  let tool = "<stack>/stack";
  if (lstatSync("package.json").isSymbolicLink()) {
    const stack = dirname(dirname(realpathSync("package.json")));
    tool = join(relative(resolve(".."), stack) || ".", "stack");
  }
  return `${tool} lock --app .`;
}

function relock() {
  return `run ${lockCommand()} in the app's folder, and commit ${LOCK}`;
}

function sameEntries(a, b) {
  const sorted = (object) => JSON.stringify(Object.entries(object ?? {}).sort());
  return sorted(a) === sorted(b);
}

// The app's lock, made for package-app.json as it is now.
function appLock(wanted) {
  if (!existsSync(LOCK)) fail(`not found: ${relock()}`, LOCK);
  let lock;
  try {
    lock = readJson(LOCK);
  } catch (error) {
    fail(`not valid JSON (${error.message}): ${relock()}`, LOCK);
  }
  for (const section of ["dependencies", "devDependencies"]) {
    if (!sameEntries(lock[section], wanted[section])) {
      fail(`it does not match ${LIST} (it locks other "${section}"): ${relock()}`, LOCK);
    }
  }
  return lock;
}

// The version npm's resolution finds for `name` required from the package at `path`.
function found(packages, path, name) {
  for (let at = path; ; ) {
    const candidate = `${at ? `${at}/` : ""}node_modules/${name}`;
    if (packages[candidate]) return packages[candidate];
    if (!at) return undefined;
    const cut = at.lastIndexOf("node_modules/");
    at = cut <= 0 ? "" : at.slice(0, cut - 1);
  }
}

// The stack's package.json and package-lock.json with the app's packages added.
function mergedLock(lock) {
  const manifest = readJson("package.json");
  delete manifest.scripts;
  const merged = readJson("package-lock.json");
  const root = merged.packages[""];
  for (const section of ["dependencies", "devDependencies"]) {
    manifest[section] = { ...manifest[section], ...lock[section] };
    root[section] = { ...root[section], ...lock[section] };
  }
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (path in merged.packages) {
      fail(`${path} is in the stack's package-lock.json now: ${relock()}`, LOCK);
    }
    merged.packages[path] = entry;
  }
  for (const [name, version] of Object.entries({ ...lock.dependencies, ...lock.devDependencies })) {
    if (merged.packages[`node_modules/${name}`]?.version !== version) {
      fail(`it has no entry for ${name} ${version}: ${relock()}`, LOCK);
    }
  }
  // Each dependency of the app's packages is there, in its range (npm's own semver), as
  // when the lock was made: a stack update can move a package they share.
  let semver;
  try {
    semver = createRequire(process.env.npm_execpath ?? import.meta.url)("semver");
  } catch {
    semver = undefined;
  }
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    for (const [name, range] of Object.entries(entry.dependencies ?? {})) {
      const dependency = found(merged.packages, path, name);
      const fits =
        dependency &&
        (!semver?.validRange(range) || semver.satisfies(dependency.version, range));
      if (!fits) {
        const had = dependency ? dependency.version : "none";
        fail(
          `${path.slice(13)} ${entry.version} needs ${name}@${range} and would get ${had} ` +
            `(the lock was made for another stack package-lock.json?): ${relock()}`,
          LOCK,
        );
      }
    }
  }
  return { manifest, merged };
}

// npm ci of the merged lock in a scratch folder beside the tree, which then replaces it.
function installLocked({ manifest, merged }) {
  rmSync(SCRATCH, { recursive: true, force: true });
  mkdirSync(SCRATCH, { recursive: true });
  const write = (name, value) =>
    writeFileSync(join(SCRATCH, name), `${JSON.stringify(value, null, 2)}\n`);
  write("package.json", manifest);
  write("package-lock.json", merged);
  // The stack's file: dependency and the script its install hook runs (guarded: it returns).
  cpSync("app-packages-check", join(SCRATCH, "app-packages-check"), {
    recursive: true,
    dereference: true,
  });
  writeFileSync(join(SCRATCH, "install-app-packages.mjs"), readFileSync("install-app-packages.mjs"));
  // npm's settings of the outer install reach this one through the environment
  // (npm_config_*): in the image, --omit=dev leaves the app's devDependencies out too.
  const env = { ...process.env, [GUARD]: "1" };
  for (const key of ["npm_config_local_prefix", "INIT_CWD", "npm_lifecycle_event"]) delete env[key];
  // The outer install has just fetched the same packuments and tarballs: no need to ask the
  // registry again (versions and integrity are the lock's).
  const npmCi = ["ci", "--prefer-offline", "--no-audit", "--no-fund"];
  execFileSync(process.execPath, [process.env.npm_execpath, ...npmCi], {
    cwd: SCRATCH,
    stdio: "inherit",
    env,
  });
  const built = join(SCRATCH, "node_modules");
  for (const entry of readdirSync("node_modules")) {
    if (join("node_modules", entry) !== SCRATCH) {
      rmSync(join("node_modules", entry), { recursive: true, force: true });
    }
  }
  for (const entry of readdirSync(built)) renameSync(join(built, entry), join("node_modules", entry));
  rmSync(SCRATCH, { recursive: true, force: true });
}

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
            `"${section}" of ${LIST}, run ${lockCommand()} in the app's folder and run npm ci`,
    );
  } else if (process.env.npm_command !== "install") {
    // `npm uninstall NAME`, `npm update`, ...: npm drops the app's packages, as no lockfile
    // lists them, and runs no postinstall to bring them back. (A bare `npm install` does.)
    const missing = Object.keys(listed).filter((name) => !packages.has(name));
    if (missing.length > 0) {
      problems.push(
        `${command} removes this app's packages (${missing.join(", ")}) from node_modules. ` +
          `To remove one, delete it from ${LIST}, run ${lockCommand()} in the app's folder ` +
          `and run npm ci`,
      );
    }
  }
  if (problems.length > 0) {
    for (const problem of problems) console.error(`error: ${problem}`);
    process.exit(1);
  }
}
