# What `cmake --install BUILD [--prefix P]` and `pip install .` install.
#
# cmake --install: the tools in bin/, the C/C++ headers in include/mixir-c/,
#   libmixir_runtime (runs artifacts; no LLVM/MLIR) and libmixir (the
#   compiler) in lib/, a CMake package (lib/cmake/MixIR: find_package(MixIR),
#   targets MixIR::runtime and MixIR::compiler) and a pkg-config file
#   (lib/pkgconfig/mixir-runtime.pc).
# pip install . (scikit-build-core sets SKBUILD): the `mixir` Python package
#   in site-packages, with the headers, libraries, CMake package and pkg-config
#   file under site-packages/mixir/, and the tools in the environment's bin/
#   (the package itself is installed by python/CMakeLists.txt).
include(CMakePackageConfigHelpers)

if(SKBUILD)
  set(MIXIR_INSTALL_BINDIR ${SKBUILD_SCRIPTS_DIR})
  set(MIXIR_INSTALL_LIBDIR mixir/lib)
  set(MIXIR_INSTALL_INCLUDEDIR mixir/include)
else()
  set(MIXIR_INSTALL_BINDIR bin)
  set(MIXIR_INSTALL_LIBDIR lib)
  set(MIXIR_INSTALL_INCLUDEDIR include)
endif()
set(MIXIR_INSTALL_CMAKEDIR ${MIXIR_INSTALL_LIBDIR}/cmake/MixIR)

# Tools.
set(MIXIR_INSTALLED_TOOLS mixir-opt mixir-compile mixir-run mixir-import-stablehlo)
if(TARGET mixir-import-onnx)
  list(APPEND MIXIR_INSTALLED_TOOLS mixir-import-onnx)
endif()
install(TARGETS ${MIXIR_INSTALLED_TOOLS} RUNTIME DESTINATION ${MIXIR_INSTALL_BINDIR})

# Libraries and headers, exported as MixIR::runtime and MixIR::compiler.
set_target_properties(mixir_runtime PROPERTIES EXPORT_NAME runtime)
set_target_properties(mixir PROPERTIES EXPORT_NAME compiler)
install(TARGETS mixir_runtime mixir EXPORT MixIRTargets
  LIBRARY DESTINATION ${MIXIR_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${MIXIR_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mixir-c
  DESTINATION ${MIXIR_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
install(EXPORT MixIRTargets NAMESPACE MixIR:: DESTINATION ${MIXIR_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/MixIRConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/MixIRConfig.cmake
  INSTALL_DESTINATION ${MIXIR_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/MixIRConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/MixIRConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/MixIRConfigVersion.cmake
  DESTINATION ${MIXIR_INSTALL_CMAKEDIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/mixir-runtime.pc.in
  ${PROJECT_BINARY_DIR}/cmake/mixir-runtime.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/mixir-runtime.pc
  DESTINATION ${MIXIR_INSTALL_LIBDIR}/pkgconfig)
