# Sources of the GGUF subsystem (ggml block types, GGUF files, Llama graph
# recognition, tokenizer metadata, the GGUF export), added to the pq library.
target_sources(pq PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/llama_blocks.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_graph.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_graph_view.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_norms.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_rope.cc
)
