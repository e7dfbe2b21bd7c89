# Sources of the GGUF subsystem (ggml block types, GGUF files, Llama graph
# recognition, tokenizer metadata, the GGUF export), added to the pq library.
target_sources(pq PRIVATE
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
