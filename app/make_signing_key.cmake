# Makes the demo firmware's signing key unless it exists (cmake -P script,
# run by app/CMakeLists.txt with -DKEY=... -DMQOTA=...). A rebuilt `mqota`
# must not replace the key that boards made from this tree trust.
if(NOT EXISTS "${KEY}")
  execute_process(COMMAND "${MQOTA}" image keygen -k "${KEY}" -t ecdsa-p256
                  RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "mqota image keygen failed for ${KEY}")
  endif()
endif()
# Newer than `mqota`, so the build sees it as current.
file(TOUCH "${KEY}")
