{
  # A stand-in for nixpkgs, written for this project: just enough of its
  # interface for rmq's flake.nix to evaluate offline, where nixpkgs itself
  # cannot be fetched. CI runs
  #   nix flake check --no-build --override-input nixpkgs path:$PWD/integration/nix-stub
  # which catches Nix syntax errors, a wrong outputs schema, misspelt
  # attributes and Cargo.lock problems (git dependencies without
  # cargoLock.outputHashes fail here as they would with the real
  # importCargoLock). It cannot catch real build failures: the derivations
  # below only write a placeholder and are never built.
  description = "stand-in for nixpkgs (evaluation only)";

  outputs = { self }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);

      placeholder = system: name: derivation {
        inherit name system;
        builder = "/bin/sh";
        args = [ "-c" "echo stand-in > $out" ];
      };

      fail = msg: builtins.throw "nix-stub: ${msg}";

      # What the real buildRustPackage insists on, checked here.
      buildRustPackage = system: args:
        let
          name = args.name or "${args.pname or (fail "buildRustPackage needs pname or name")}-${args.version or (fail "buildRustPackage needs version")}";
          src = args.src or (fail "buildRustPackage needs src");
          lock = args.cargoLock or null;
          lockFile = if lock == null then null
            else lock.lockFile or (fail "cargoLock needs lockFile");
          parsed = builtins.fromTOML (builtins.readFile lockFile);
          gitDeps = builtins.filter (p: builtins.substring 0 4 (p.source or "") == "git+") (parsed.package or [ ]);
          missingHashes = builtins.filter
            (p: !((lock.outputHashes or { }) ? "${p.name}-${p.version}")) gitDeps;
          checked =
            if lock == null && !(args ? cargoHash) && !(args ? cargoSha256) then
              fail "buildRustPackage needs cargoLock.lockFile or cargoHash"
            else if lockFile != null && !(builtins.pathExists lockFile) then
              fail "cargoLock.lockFile ${toString lockFile} does not exist"
            else if lockFile != null && (parsed.package or [ ]) == [ ] then
              fail "${toString lockFile} lists no packages"
            else if missingHashes != [ ] then
              fail "git dependency ${(builtins.head missingHashes).name} needs cargoLock.outputHashes"
            else if !(builtins.isList (args.cargoBuildFlags or [ ])) then
              fail "cargoBuildFlags must be a list"
            else if !(builtins.isString (args.postInstall or "")) then
              fail "postInstall must be a string"
            else true;
        in
        assert checked;
        assert builtins.seq src true;
        placeholder system name // {
          pname = args.pname or name;
          version = args.version or "";
          meta = args.meta or { };
        };

      mkShell = system: args:
        assert builtins.isList (args.packages or [ ]);
        assert builtins.isList (args.inputsFrom or [ ]);
        placeholder system (args.name or "nix-shell");

      pkgsFor = system: {
        lib.licenses.asl20 = { spdxId = "Apache-2.0"; shortName = "asl20"; };
        rustPlatform.buildRustPackage = buildRustPackage system;
        mkShell = mkShell system;
      } // builtins.listToAttrs (map (name: { inherit name; value = placeholder system name; })
        [ "cargo" "rustc" "rustfmt" "clippy" "rust-analyzer" "shellcheck" "dash" "busybox" "docker-compose" ]);
    in
    {
      legacyPackages = forAllSystems pkgsFor;
    };
}
