# Run by `cmake --install` (and by cpack): the files whose contents or place
# depend on the prefix installed to, which is known only now.
#   - mqota-server.service, with ExecStart and --config of this prefix;
#   - server.conf, in /etc/mqota when the prefix is /usr (the Debian package,
#     as GNUInstallDirs puts /usr's sysconfdir), else in <prefix>/etc/mqota.
#     An existing one is kept: it is the operator's.
# Set by packaging/CMakeLists.txt before this runs: MQOTA_PACKAGING_DIR,
# MQOTA_PACKAGING_BINARY_DIR, MQOTA_INSTALL_BINDIR, MQOTA_INSTALL_DOCDIR.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/")
  set(etc /etc)
else()
  set(etc "${CMAKE_INSTALL_PREFIX}/etc")
endif()

set(MQOTA_BINDIR "${CMAKE_INSTALL_PREFIX}/${MQOTA_INSTALL_BINDIR}")
set(MQOTA_DOCDIR "${CMAKE_INSTALL_PREFIX}/${MQOTA_INSTALL_DOCDIR}")
set(MQOTA_CONFIG "${etc}/mqota/server.conf")
set(unit "${MQOTA_PACKAGING_BINARY_DIR}/mqota-server.service")
configure_file("${MQOTA_PACKAGING_DIR}/mqota-server.service.in" "${unit}" @ONLY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE FILES "${unit}")

if(EXISTS "$ENV{DESTDIR}${etc}/mqota/server.conf")
  message(STATUS "Keeping: $ENV{DESTDIR}${etc}/mqota/server.conf (the example is "
                 "${MQOTA_DOCDIR}/server.conf)")
else()
  file(INSTALL DESTINATION "${etc}/mqota" TYPE FILE FILES "${MQOTA_PACKAGING_DIR}/server.conf")
endif()
