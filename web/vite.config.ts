/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The Rust binary serves dist/ (SPA fallback for client routes, long cache for
// hashed assets). In development, `npm run dev` proxies the API to a running
// server: REELFORGE_URL (default http://127.0.0.1:8080).
const backend = process.env.REELFORGE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    target: "es2022",
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      "/api": {
        target: backend,
        // The server refuses cookie-carrying unsafe requests from another
        // origin; the dev server is one, so present the backend's own.
        configure: (proxy) => {
          proxy.on("proxyReq", (req) => {
            if (req.getHeader("origin")) req.setHeader("origin", new URL(backend).origin);
          });
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    restoreMocks: true,
    testTimeout: 20_000,
  },
});
