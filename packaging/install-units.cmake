# Run at install time (packaging/CMakeLists.txt): write the systemd units
# with the program's installed path, straight into the destination. Not
# through a file in the build tree: two installs at once (the install test
# and the package test run in parallel, to different prefixes) would
# overwrite each other's copy there.
#   RG_UNIT_SRC_DIR  packaging/systemd/ (the *.service.in templates)
#   RG_UNIT_DIR      the units' directory, relative to the prefix
#   RG_BINDIR_REL    bin, relative to the prefix
set(RG_BINDIR "${CMAKE_INSTALL_PREFIX}/${RG_BINDIR_REL}")
set(dest "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${RG_UNIT_DIR}")
file(MAKE_DIRECTORY "${dest}")
file(GLOB templates "${RG_UNIT_SRC_DIR}/*.service.in")
foreach(template ${templates})
  get_filename_component(name "${template}" NAME)
  string(REGEX REPLACE "\\.in$" "" name "${name}")
  message(STATUS "Installing: ${dest}/${name}")
  configure_file("${template}" "${dest}/${name}" @ONLY)
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}/${name}")
endforeach()
