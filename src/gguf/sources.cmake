# Sources of the GGUF subsystem (ggml block types, GGUF files, Llama graph
# recognition, tokenizer metadata, the GGUF export), added to the pq library.
set(PQ_GGUF_BLOCK_SOURCES
  src/gguf/ggml_types.cc
  src/gguf/ggml_scale_search.cc
  src/gguf/ggml_q4_k.cc
)
target_sources(pq PRIVATE
  ${PQ_GGUF_BLOCK_SOURCES}
)
# The block codecs must round exactly as ggml's (no fused multiply-add under
# -march=native), so that encodings and decodings agree with it to the bit.
set_source_files_properties(${PQ_GGUF_BLOCK_SOURCES} src/base/float16.cc
  PROPERTIES COMPILE_OPTIONS -ffp-contract=off)
target_sources(pq PRIVATE
  src/gguf/gguf_writer.cc
  src/gguf/gguf_reader.cc
  src/gguf/gguf_inspect.cc
)
