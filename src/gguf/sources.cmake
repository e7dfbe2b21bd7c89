# Sources of the GGUF subsystem (ggml block types, GGUF files, Llama graph
# recognition, tokenizer metadata, the GGUF export), added to the pq library.
set(PQ_GGUF_BLOCK_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/ggml_types.cc
  ${CMAKE_CURRENT_LIST_DIR}/ggml_scale_search.cc
  ${CMAKE_CURRENT_LIST_DIR}/ggml_q4_k.cc
)
# The block codecs must round exactly as ggml's (no fused multiply-add under
# -march=native), so that encodings and decodings agree with it to the bit.
set_source_files_properties(${PQ_GGUF_BLOCK_SOURCES} ${PROJECT_SOURCE_DIR}/src/base/float16.cc
  PROPERTIES COMPILE_OPTIONS -ffp-contract=off)
target_sources(pq PRIVATE
  ${PQ_GGUF_BLOCK_SOURCES}
  ${CMAKE_CURRENT_LIST_DIR}/gguf_writer.cc
  ${CMAKE_CURRENT_LIST_DIR}/gguf_reader.cc
  ${CMAKE_CURRENT_LIST_DIR}/gguf_inspect.cc
  ${CMAKE_CURRENT_LIST_DIR}/gguf_schemes.cc
  ${CMAKE_CURRENT_LIST_DIR}/importance_collector.cc
  ${CMAKE_CURRENT_LIST_DIR}/weight_encoder.cc
  ${CMAKE_CURRENT_LIST_DIR}/gguf_metadata.cc
  ${CMAKE_CURRENT_LIST_DIR}/gguf_report.cc
  ${CMAKE_CURRENT_LIST_DIR}/protobuf_wire.cc
  ${CMAKE_CURRENT_LIST_DIR}/sentencepiece_model.cc
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer_json.cc
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer_meta.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_blocks.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_graph.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_graph_view.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_norms.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_rope.cc
)
