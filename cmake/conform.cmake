# conform.cmake - `logitlab conform` (src/conform): an HTTP client of
# OpenAI-compatible servers, from libcurl and jansson (Debian packages,
# found with pkg-config). Included by CMakeLists.txt after the server's
# block, so LL_JANSSON_FOUND is known. Without libcurl the command still
# exists and says what to install.
set(LL_HAVE_CONFORM OFF)
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(LL_CURL QUIET IMPORTED_TARGET libcurl)
  # the server's block made the target when it was built; else look here
  # (a cached LL_JANSSON_FOUND alone does not make the imported target)
  if(NOT TARGET PkgConfig::LL_JANSSON)
    pkg_check_modules(LL_JANSSON QUIET IMPORTED_TARGET jansson)
  endif()
endif()
if(LL_CURL_FOUND AND TARGET PkgConfig::LL_CURL AND TARGET PkgConfig::LL_JANSSON)
  set(LL_HAVE_CONFORM ON)
  add_library(logitlab_conform STATIC src/conform/conform.c src/conform/answer.c)
  target_include_directories(logitlab_conform PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(logitlab_conform PRIVATE ${LL_WARN} ${LL_FP})
  # only core (messages, quoting) from the library: never the engine
  target_link_libraries(logitlab_conform PUBLIC logitlab PkgConfig::LL_CURL PkgConfig::LL_JANSSON)
  target_link_libraries(logitlab_cli PRIVATE logitlab_conform)
  target_compile_definitions(logitlab_cli PRIVATE LL_HAVE_CONFORM)
elseif(LOGITLAB_REQUIRE_SERVE)
  message(FATAL_ERROR "logitlab conform cannot be built: apt-get install libcurl4-openssl-dev libjansson-dev pkg-config")
else()
  message(STATUS "logitlab conform: not built (apt-get install libcurl4-openssl-dev libjansson-dev pkg-config)")
endif()
target_sources(logitlab_cli PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cli/cmd_conform.c)
