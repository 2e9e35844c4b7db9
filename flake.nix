{
  description = "rmq: Apache RocketMQ's NameServer and broker rebuilt in Rust, with RocketMQ's scripts, flags and paths";

  # No flake.lock is committed: creating one needs network access to GitHub,
  # which the project's machines and CI do not have. Nix writes one on the
  # first `nix run` / `nix build` on a machine that has network access; pin it
  # there (`nix flake lock`) if you need reproducible builds. CI evaluates this
  # file against a small stand-in for nixpkgs (integration/nix-stub) instead:
  #   nix flake check --no-build --override-input nixpkgs path:./integration/nix-stub
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);
      version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).workspace.package.version;
      servers = [ "mqnamesrv" "mqbroker" "mqadmin" "mqproxy" "mqcontroller" ];

      # One package holding RocketMQ's layout: bin/ the scripts users type
      # (mqnamesrv, mqbroker, mqproxy, mqcontroller, mqshutdown, mqadmin), lib/ the Rust binaries
      # they exec, conf/ the sample configuration. The scripts find lib/ and
      # ROCKETMQ_HOME from their own location, which works in the Nix store.
      rmqFor = system:
        let pkgs = nixpkgs.legacyPackages.${system};
        in pkgs.rustPlatform.buildRustPackage {
          pname = "rmq";
          inherit version;
          src = self;
          cargoLock.lockFile = ./Cargo.lock;
          cargoBuildFlags = [ "-p" "rmq-cli" ];
          # The test suites need Docker and loopback servers; the Nix sandbox
          # has neither. scripts/test.sh runs them.
          doCheck = false;
          postInstall = ''
            mkdir -p $out/lib $out/conf
            for b in ${builtins.concatStringsSep " " servers}; do
              if [ -e $out/bin/$b ]; then mv $out/bin/$b $out/lib/$b; fi
            done
            install -m 755 bin/mqnamesrv bin/mqbroker bin/mqproxy bin/mqcontroller bin/mqshutdown bin/mqadmin $out/bin/
            install -m 644 bin/rmq-common.sh $out/bin/
            cp -R conf/. $out/conf/
          '';
          meta = {
            description = "Apache RocketMQ's NameServer and broker rebuilt in Rust (drop-in scripts and conf)";
            license = pkgs.lib.licenses.asl20;
            mainProgram = "mqnamesrv";
            platforms = systems;
          };
        };
    in
    {
      packages = forAllSystems (system:
        let rmq = rmqFor system;
        in { inherit rmq; default = rmq; } // builtins.listToAttrs
          (map (name: { inherit name; value = rmq; }) servers));

      # `nix run .#mqnamesrv`, `nix run .#mqbroker -- -n localhost:9876`,
      # `nix run .#mqadmin -- clusterList -n localhost:9876`, `nix run .#mqproxy -- -n localhost:9876`.
      apps = forAllSystems (system:
        let
          rmq = self.packages.${system}.rmq;
          app = name: {
            type = "app";
            program = "${rmq}/bin/${name}";
          };
        in { default = app "mqnamesrv"; } // builtins.listToAttrs
          (map (name: { inherit name; value = app name; }) (servers ++ [ "mqshutdown" ])));

      devShells = forAllSystems (system:
        let pkgs = nixpkgs.legacyPackages.${system};
        in {
          default = pkgs.mkShell {
            inputsFrom = [ self.packages.${system}.rmq ];
            packages = [ pkgs.cargo pkgs.rustc pkgs.rustfmt pkgs.clippy pkgs.shellcheck pkgs.dash ];
          };
        });

      checks = forAllSystems (system: { rmq = self.packages.${system}.rmq; });
    };
}
