/**
 * Configuration of `edgering serve`: one typed object ({@link ServeConfig}), its defaults, and the merge of
 * flags > environment > TOML file > defaults.
 *
 * @example
 * ```ts
 * import { loadServeConfig } from "./src/config/mod.ts";
 * const { config } = await loadServeConfig({ flags: {}, env: Deno.env.toObject() });
 * ```
 */
export * from "./serve_config.ts";
export * from "./config_fields.ts";
export * from "./load_config.ts";
