# The Debian package: `cpack -G DEB` in a build directory writes
# pq_<VERSION>_amd64.deb. It holds the Runtime install component only (the
# pq tool, pq(1), the bash completion, the licence as
# /usr/share/doc/pq/copyright); its Depends line is computed by
# dpkg-shlibdeps from the libraries the tool links.
#
# libpq and its headers (the Development component) stay out of it: libpq is
# a static archive whose users must compile against exactly the onnx and
# protobuf headers it was built with, which dpkg-shlibdeps cannot express;
# `cmake --install` provides them (find_package(pq)).
#
# A package for other machines needs -DPQ_NATIVE=OFF: with -march=native the
# tool uses every extension of the building CPU (`pq --version` lists them).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pq)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "pq maintainers <pq@pq.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "post-training quantization for ONNX models")
set(CPACK_PACKAGE_DESCRIPTION "pq quantizes ONNX models (INT8 QDQ, 4-bit blockwise, GGUF for \
llama.cpp), calibrates them on sample data, validates the result against the FP32 model with \
gates for CI, and writes an audit report of exactly what it changed.")
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};pq;Runtime;/")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # pq_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS bash-completion)
# Files written with 0644/0755 whatever the build user's umask.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
