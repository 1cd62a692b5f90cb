/* Placeholder translation unit for a layer that has no sources yet. */
typedef int rg_empty_layer_t;
