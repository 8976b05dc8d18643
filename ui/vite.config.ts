import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The window loads the built files from ui/dist (tauri.conf.json); no dev server, no remote code.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  build: { target: "safari15", outDir: "dist", emptyOutDir: true },
  // Tests run Svelte's client runtime (its effects run; the server build's do not).
  resolve: process.env.VITEST ? { conditions: ["browser"] } : undefined,
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
