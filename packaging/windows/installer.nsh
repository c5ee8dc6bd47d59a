; Backhaul NSIS additions (electron-builder nsis.include), per-machine install:
; - the agent as the "Backhaul" Windows service, through the CLI's own `backhaul service install`,
;   run by the app's Electron in Node mode. The SCM needs a program that answers its control
;   protocol: the service host resources\bin\backhaul-service.exe (WinSW 1.17, staged by
;   scripts/bundle-service-host.mjs). `service install` writes backhaul-service.xml beside it (the
;   agent: this Backhaul.exe + app.asar\dist\cli\bin.js --system agent, ELECTRON_RUN_AS_NODE=1)
;   and registers the host with sc.exe (src/os/service/windows.ts; docs/install.md, "The Windows
;   service host"). `service uninstall` waits until the service has stopped, so the files below
;   are no longer in use when the uninstaller removes them.
; - the tray at every user's login: HKLM Run key.
; Silent install for fleets: Backhaul-Setup-<version>.exe /S [/D=C:\Program Files\Backhaul]

!macro customInstall
  System::Call 'Kernel32::SetEnvironmentVariable(t "ELECTRON_RUN_AS_NODE", t "1")i'
  nsExec::ExecToLog '"$INSTDIR\Backhaul.exe" "$INSTDIR\resources\app.asar\dist\cli\bin.js" service install'
  Pop $0
  StrCmp $0 "0" +2
    DetailPrint "Backhaul: the agent service did not start (exit $0); see C:\ProgramData\Backhaul\logs"
  System::Call 'Kernel32::SetEnvironmentVariable(t "ELECTRON_RUN_AS_NODE", i 0)i'
  WriteRegStr HKLM "Software\Microsoft\Windows\CurrentVersion\Run" "Backhaul" '"$INSTDIR\Backhaul.exe" --hidden'
!macroend

!macro customUnInstall
  System::Call 'Kernel32::SetEnvironmentVariable(t "ELECTRON_RUN_AS_NODE", t "1")i'
  nsExec::ExecToLog '"$INSTDIR\Backhaul.exe" "$INSTDIR\resources\app.asar\dist\cli\bin.js" service uninstall'
  Pop $0
  System::Call 'Kernel32::SetEnvironmentVariable(t "ELECTRON_RUN_AS_NODE", i 0)i'
  DeleteRegValue HKLM "Software\Microsoft\Windows\CurrentVersion\Run" "Backhaul"
!macroend
