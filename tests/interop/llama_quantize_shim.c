/* llama.cpp's own quantization of a GGUF file, for gguf_llama_cpp.py: a command
 * line around the one function llama_model_quantize of the prebuilt libllama
 * that node-llama-cpp ships (node-llama-cpp has no JavaScript call for it).
 *
 * Usage: llama_quantize_shim IN.gguf OUT.gguf TYPE [--pure] [--threads N]
 *
 * TYPE is one of the names of kTypes below (llama.cpp's llama_ftype). --pure
 * gives every quantizable tensor TYPE, token_embd and output included, instead
 * of llama.cpp's per-tensor mixture; a tensor whose row length TYPE's block does
 * not divide still falls back to llama.cpp's substitute (q4_k -> q5_0, ...).
 * Exit codes: 0 written, 1 llama_model_quantize failed, 2 usage.
 *
 * Built at test time by gguf_llama_cpp.py: gcc with llama.h and ggml's headers
 * taken from node-llama-cpp's gitRelease.bundle (the source of the prebuilt
 * library), linked to libllama.v0.4.0.so with an rpath to its folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

struct NamedType {
  const char* name;
  enum llama_ftype ftype;
};

static const struct NamedType kTypes[] = {
    {"f32", LLAMA_FTYPE_ALL_F32},          {"f16", LLAMA_FTYPE_MOSTLY_F16},
    {"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},     {"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},
    {"q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},     {"q4_k_s", LLAMA_FTYPE_MOSTLY_Q4_K_S},
    {"q4_k_m", LLAMA_FTYPE_MOSTLY_Q4_K_M}, {"q6_k", LLAMA_FTYPE_MOSTLY_Q6_K},
    {"iq4_nl", LLAMA_FTYPE_MOSTLY_IQ4_NL},
};
static const size_t kTypeCount = sizeof(kTypes) / sizeof(kTypes[0]);

static int Usage(void) {
  fprintf(stderr, "usage: llama_quantize_shim IN.gguf OUT.gguf TYPE [--pure] [--threads N]\nTYPE:");
  for (size_t i = 0; i < kTypeCount; ++i) fprintf(stderr, " %s", kTypes[i].name);
  fprintf(stderr, "\n");
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 4) return Usage();
  const struct NamedType* type = NULL;
  for (size_t i = 0; i < kTypeCount; ++i) {
    if (strcmp(argv[3], kTypes[i].name) == 0) type = &kTypes[i];
  }
  if (type == NULL) {
    fprintf(stderr, "llama_quantize_shim: unknown type '%s'\n", argv[3]);
    return Usage();
  }
  struct llama_model_quantize_params params = llama_model_quantize_default_params();
  params.ftype = type->ftype;
  params.nthread = 1;
  for (int i = 4; i < argc; ++i) {
    if (strcmp(argv[i], "--pure") == 0) {
      params.pure = true;
    } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      params.nthread = atoi(argv[++i]);
    } else {
      fprintf(stderr, "llama_quantize_shim: unknown argument '%s'\n", argv[i]);
      return Usage();
    }
  }
  llama_backend_init();
  const uint32_t rc = llama_model_quantize(argv[1], argv[2], &params);
  llama_backend_free();
  if (rc != 0) {
    fprintf(stderr, "llama_quantize_shim: llama_model_quantize(%s -> %s, %s%s) returned %u\n", argv[1],
            argv[2], type->name, params.pure ? ", pure" : "", rc);
    return 1;
  }
  return 0;
}
