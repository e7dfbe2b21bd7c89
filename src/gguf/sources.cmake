# Sources of the GGUF subsystem (ggml block types, GGUF files, Llama graph
# recognition, tokenizer metadata, the GGUF export), added to the pq library.
target_sources(pq PRIVATE
)
