// Bundles the reference NotesHub API (examples/noteshub-api) into one file the image copies: no npm in the image.
import { build } from "esbuild";

await build({
    entryPoints: ["examples/noteshub-api/src/server.ts"],
    outfile: "examples/noteshub-api/dist/server.js",
    bundle: true,
    platform: "node",
    target: "node18", // Debian bookworm's nodejs, which the image installs
    format: "cjs",
    logLevel: "warning",
    // The mongodb driver 7 expects Node 20's global Web Crypto; Node 18 has it only behind a flag.
    banner: { js: 'globalThis.crypto ??= require("node:crypto").webcrypto;' },
    // The mongodb driver's optional add-ons (compression, Kerberos, cloud auth); NotesHub uses none.
    external: ["kerberos", "@mongodb-js/zstd", "snappy", "socks", "aws4", "mongodb-client-encryption",
        "gcp-metadata", "@aws-sdk/credential-providers"],
});
console.log("built examples/noteshub-api/dist/server.js");
