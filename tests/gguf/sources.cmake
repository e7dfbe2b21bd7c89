# Unit tests of src/gguf, added to pq_tests.
target_sources(pq_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ggml_types_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/gguf_file_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/gguf_schemes_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/importance_collector_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/protobuf_wire_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/sentencepiece_model_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer_json_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer_meta_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/llama_graph_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/tiny_llm_variants.cc
)
