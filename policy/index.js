// The pack's entry point. The analyzer type-checks TypeScript as it loads it (about 1.5 s on every preview and up),
// so it loads the copy `npm run build` compiled into policy/dist when that copy is newer than every source here,
// and the TypeScript sources otherwise: never a stale pack.
const fs = require("fs");
const path = require("path");

const dist = path.join(__dirname, "dist", "index.js");
const sources = fs.readdirSync(__dirname).filter((f) => f.endsWith(".ts")).map((f) => fs.statSync(path.join(__dirname, f)).mtimeMs);
const fresh = fs.existsSync(dist) && fs.statSync(dist).mtimeMs >= Math.max(...sources);
require(fresh ? dist : "./index.ts");
