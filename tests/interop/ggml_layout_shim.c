/* Test helper for ggml_layout_check.py: ggml's own GGUF reader, decoders and
 * quantizers, from libggml-base.so. Compiled at test time against the headers
 * of the llama.cpp source that library was built from.
 *
 *   ggml_layout_shim storage
 *     Prints "id name block_size type_size" for every type ggml stores.
 *   ggml_layout_shim decode FILE.gguf OUT_DIR
 *     Loads FILE.gguf with gguf_init_from_file and writes, per tensor,
 *     OUT_DIR/<name>.bin (its bytes) and OUT_DIR/<name>.f32 (to_float).
 *   ggml_layout_shim quantize TYPE_ID ROWS.f32 NROWS N IMPORTANCE.f32|- OUT
 *     Quantizes the rows with ggml_quantize_chunk (imatrix when given) and
 *     writes OUT.bin and its decoding OUT.f32.
 * Exit 0 on success, 1 with a message on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"
#include "gguf.h"

static int fail(const char *what) {
  fprintf(stderr, "ggml_layout_shim: %s\n", what);
  return 1;
}

/* Writes `n` bytes to dir/name+ext (or dir+ext when name is NULL). */
static int write_file(const char *dir, const char *name, const char *ext, const void *data, size_t n) {
  char path[4096];
  snprintf(path, sizeof(path), "%s%s%s%s", dir, name ? "/" : "", name ? name : "", ext);
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  const int ok = fwrite(data, 1, n, f) == n;
  return fclose(f) == 0 && ok;
}

static void *read_file(const char *path, size_t expected) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  void *data = malloc(expected);
  const size_t n = fread(data, 1, expected, f);
  fclose(f);
  if (n != expected) {
    free(data);
    return NULL;
  }
  return data;
}

/* ggml's decoding of `n` values of `type` (f32 has no to_float: a copy). */
static int to_float(enum ggml_type type, const void *data, float *out, int64_t n) {
  if (type == GGML_TYPE_F32) {
    memcpy(out, data, n * sizeof(float));
    return 1;
  }
  const struct ggml_type_traits *traits = ggml_get_type_traits(type);
  if (!traits->to_float) return 0;
  traits->to_float(data, out, n);
  return 1;
}

static int decode(const char *file, const char *dir) {
  struct ggml_context *ctx = NULL;
  struct gguf_init_params params = {false, &ctx};
  struct gguf_context *gguf = gguf_init_from_file(file, params);
  if (!gguf) return fail("gguf_init_from_file refused the file");
  for (int64_t i = 0; i < gguf_get_n_tensors(gguf); ++i) {
    const char *name = gguf_get_tensor_name(gguf, i);
    struct ggml_tensor *t = ggml_get_tensor(ctx, name);
    const int64_t n = ggml_nelements(t);
    float *out = malloc(n * sizeof(float));
    if (!to_float(t->type, t->data, out, n)) return fail("no to_float");
    if (!write_file(dir, name, ".bin", t->data, ggml_nbytes(t)) ||
        !write_file(dir, name, ".f32", out, n * sizeof(float))) {
      return fail("cannot write output");
    }
    free(out);
  }
  gguf_free(gguf);
  ggml_free(ctx);
  return 0;
}

static int quantize(int type, const char *rows_path, int64_t nrows, int64_t n, const char *imp_path,
                    const char *out) {
  const int use_imp = strcmp(imp_path, "-") != 0;
  float *rows = read_file(rows_path, nrows * n * sizeof(float));
  float *imp = use_imp ? read_file(imp_path, n * sizeof(float)) : NULL;
  if (!rows || (use_imp && !imp)) return fail("cannot read inputs");
  ggml_quantize_init(type);
  const size_t bytes = ggml_row_size(type, n) * nrows;
  void *q = malloc(bytes);
  if (ggml_quantize_chunk(type, rows, q, 0, nrows, n, imp) != bytes) return fail("unexpected size");
  float *back = malloc(nrows * n * sizeof(float));
  if (!to_float(type, q, back, nrows * n)) return fail("no to_float");
  if (!write_file(out, NULL, ".bin", q, bytes) ||
      !write_file(out, NULL, ".f32", back, nrows * n * sizeof(float))) {
    return fail("cannot write output");
  }
  free(rows);
  free(imp);
  free(q);
  free(back);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "storage") == 0) {
    for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
      if (ggml_blck_size(t) == 0) continue;
      printf("%d %s %lld %zu\n", t, ggml_type_name(t), (long long)ggml_blck_size(t), ggml_type_size(t));
    }
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "decode") == 0) return decode(argv[2], argv[3]);
  if (argc == 8 && strcmp(argv[1], "quantize") == 0) {
    return quantize(atoi(argv[2]), argv[3], atoll(argv[4]), atoll(argv[5]), argv[6], argv[7]);
  }
  return fail("usage: storage | decode FILE DIR | quantize TYPE ROWS NROWS N IMP|- OUT");
}
