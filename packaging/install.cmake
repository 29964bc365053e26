# The install layout (docs/HOSTING.md "Install layout"; checked against packaging/manifest.txt
# by the test install_manifest). Included by the top-level CMakeLists.txt after the
# programs are defined.
#
# The files under etc/ and docs/man/ name the packaged paths (prefix /usr):
# /usr/sbin, /usr/bin, /etc/rb-aioutliers, /usr/share/rb-aioutliers,
# /var/lib/rb-aioutliers. Installed copies are rewritten at configure time for
# the prefix in use (GNUInstallDirs), so that `cmake --install` under
# /usr/local gives units and snippets that name /usr/local/sbin and a
# configuration read from /usr/local/etc; with prefix /usr they are the files
# as they are in the tree. The daemon's and the command's built-in defaults
# follow the same rule (RB_DEFAULT_CONFIG, RB_DEFAULT_MODELS_DIR).

set(RB_SYSTEMD_UNIT_DIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" CACHE PATH
    "Where the systemd units are installed")
set(RB_SYSUSERS_DIR "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d" CACHE PATH
    "Where the sysusers.d file (the system user) is installed")
set(RB_TMPFILES_DIR "${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d" CACHE PATH
    "Where the tmpfiles.d file (state directories) is installed")

set(RB_CONF_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/rb-aioutliers")
set(RB_SHARE_DIR "${CMAKE_INSTALL_FULL_DATADIR}/rb-aioutliers")
set(RB_STATE_DIR "${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/rb-aioutliers")

# Built-in defaults of the programs, from the same directories.
target_compile_definitions(rb-aioutliers-detect PRIVATE
  RB_DEFAULT_MODELS_DIR="${RB_SHARE_DIR}/models")
target_compile_definitions(rb-aioutliers-detect-full PRIVATE
  RB_DEFAULT_MODELS_DIR="${RB_SHARE_DIR}/models")
if(TARGET rb-aioutliers-train)
  target_compile_definitions(rb-aioutliers-train PRIVATE
    RB_DEFAULT_TRAINED_MODELS_DIR="${RB_STATE_DIR}/models")
endif()
if(TARGET rb-aioutliers)
  target_compile_definitions(rb-aioutliers PRIVATE
    RB_DEFAULT_CONFIG="${RB_CONF_DIR}/rb-aioutliers.conf")
endif()

# rb_install_rewritten(SRC DEST_DIR [PROGRAM] [RENAME NAME] [REPLACE OLD NEW]): installs SRC
# (relative to the source tree) into DEST_DIR with the packaged paths replaced by
# this prefix's, and OLD (which must occur) by NEW first when given; PROGRAM: executable.
function(rb_install_rewritten src dest)
  cmake_parse_arguments(ARG "PROGRAM" "RENAME" "REPLACE" ${ARGN})
  get_filename_component(name ${src} NAME)
  if(ARG_RENAME)
    set(name ${ARG_RENAME})
  endif()
  file(READ ${CMAKE_SOURCE_DIR}/${src} text)
  if(ARG_REPLACE)
    list(GET ARG_REPLACE 0 old)
    list(GET ARG_REPLACE 1 new)
    string(FIND "${text}" "${old}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${src} does not contain '${old}'")
    endif()
    string(REPLACE "${old}" "${new}" text "${text}")
  endif()
  string(REPLACE "/usr/sbin/rb-aioutliers" "${CMAKE_INSTALL_FULL_SBINDIR}/rb-aioutliers"
         text "${text}")
  string(REPLACE "/usr/bin/rb-aioutliers" "${CMAKE_INSTALL_FULL_BINDIR}/rb-aioutliers"
         text "${text}")
  string(REPLACE "/etc/rb-aioutliers" "${RB_CONF_DIR}" text "${text}")
  string(REPLACE "/usr/share/rb-aioutliers" "${RB_SHARE_DIR}" text "${text}")
  string(REPLACE "/var/lib/rb-aioutliers" "${RB_STATE_DIR}" text "${text}")
  set(out ${CMAKE_BINARY_DIR}/install-files/${dest}/${name})
  file(WRITE ${out}.tmp "${text}")
  configure_file(${out}.tmp ${out} COPYONLY) # rewritten only when it changed
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${src})
  if(ARG_PROGRAM)
    install(PROGRAMS ${out} DESTINATION ${dest})
  else()
    install(FILES ${out} DESTINATION ${dest})
  endif()
endfunction()

# Configuration: the commented sample, every key at its default except listen,
# which is set for rb-aioutliers.service (the daemon's own socket in its
# RuntimeDirectory).
rb_install_rewritten(etc/rb-aioutliers.conf ${RB_CONF_DIR} REPLACE "\nlisten =\n"
  "\n# Set by the install for rb-aioutliers.service. Leave it empty for\n# rb-aioutliers-spawn-fcgi.service or lighttpd's bin-path (the socket on fd 0).\nlisten = unix:/run/rb-aioutliers/rb-aioutliers.sock\n")

# Models shipped with the package (read-only) and the writable directory for
# trained or synced ones (created empty; tmpfiles.d recreates it with its owner).
# models/train/ (the queries that made models/flows.*) and train-flows.sh stay in the source.
install(DIRECTORY models/ DESTINATION ${CMAKE_INSTALL_DATADIR}/rb-aioutliers/models
        FILES_MATCHING PATTERN "*.keras" PATTERN "*.ini" PATTERN "*.json"
        PATTERN "train" EXCLUDE)
install(DIRECTORY DESTINATION ${RB_STATE_DIR}/models)

# systemd: units, the system user, the state directories.
foreach(unit rb-aioutliers.service rb-aioutliers-spawn-fcgi.service
             rb-aioutliers-train.service rb-aioutliers-train.timer)
  rb_install_rewritten(etc/systemd/${unit} ${RB_SYSTEMD_UNIT_DIR})
endforeach()
# The nightly retraining (rb-aioutliers-train.service runs it with /bin/sh) and its list of
# models: one query (NAME.json) or directory of queries (NAME/) per model, empty at install.
rb_install_rewritten(etc/train-models.sh ${RB_SHARE_DIR} PROGRAM)
install(DIRECTORY DESTINATION ${RB_CONF_DIR}/train.d)
rb_install_rewritten(etc/systemd/sysusers.conf ${RB_SYSUSERS_DIR} RENAME rb-aioutliers.conf)
rb_install_rewritten(etc/systemd/tmpfiles.conf ${RB_TMPFILES_DIR} RENAME rb-aioutliers.conf)

# Web-server snippets: under the package's share directory; the distribution
# package links or copies them into Apache's or lighttpd's conf directory.
foreach(f apache/rb-aioutliers.conf apache/rb-aioutliers-tcp.conf apache/rb-aioutliers-cgi.conf
          apache/rb-aioutliers-fcgid.conf lighttpd/rb-aioutliers.conf
          lighttpd/rb-aioutliers-spawn.conf)
  get_filename_component(sub ${f} DIRECTORY)
  rb_install_rewritten(etc/${f} ${RB_SHARE_DIR}/${sub})
endforeach()

# Manual pages: every docs/man/NAME.N in section N.
file(GLOB RB_MAN_PAGES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/*.[0-9])
foreach(page ${RB_MAN_PAGES})
  get_filename_component(name ${page} NAME)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${name})
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${page})
  rb_install_rewritten(${rel} ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

# Licence and documentation.
install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB RB_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${RB_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# The directory variables of packaging/manifest.txt, for tests/install/check_manifest.sh.
file(WRITE ${CMAKE_BINARY_DIR}/install-dirs.sh
  "SBINDIR='${CMAKE_INSTALL_FULL_SBINDIR}'\n"
  "BINDIR='${CMAKE_INSTALL_FULL_BINDIR}'\n"
  "LIBEXECDIR='${CMAKE_INSTALL_FULL_LIBEXECDIR}'\n"
  "CONFDIR='${RB_CONF_DIR}'\n"
  "SHAREDIR='${RB_SHARE_DIR}'\n"
  "STATEDIR='${RB_STATE_DIR}'\n"
  "UNITDIR='${RB_SYSTEMD_UNIT_DIR}'\n"
  "SYSUSERSDIR='${RB_SYSUSERS_DIR}'\n"
  "TMPFILESDIR='${RB_TMPFILES_DIR}'\n"
  "MANDIR='${CMAKE_INSTALL_FULL_MANDIR}'\n"
  "DOCDIR='${CMAKE_INSTALL_FULL_DOCDIR}'\n")
