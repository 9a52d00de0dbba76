# @summary Installs bare from its signed package repository, writes its
#   configuration and keeps its services running; written by venvpkg.
#
# The package is pinned to one version, so changing $version rolls a node
# forward or back. Services restart only when the package or one of their
# configuration files changed, and a health check runs after every restart.
#
# @param version
#   The Debian version apt installs on Debian-family nodes.
# @param rpm_version
#   The RPM version-release dnf installs on RedHat-family nodes.
# @param repo_url
#   The root of the repository venvpkg publish writes (APT under apt/, YUM
#   under rpm/<suite>/).
# @param repo_suite
#   The APT suite and YUM repository name.
# @param repo_component
#   The APT component.
# @param config_style
#   'file' writes each configuration file from its template; 'dropin' keeps
#   the packaged default and writes <path>.d/50-site<ext> next to it.
# @param manage_services
#   Enable, start and restart the systemd units.
# @param health_check
#   'http' requests each service's listen address, 'systemd' wants each unit
#   active, 'command' runs $health_command, 'none' skips the check.
# @param health_command
#   The command of the 'command' health check.
class bare (
  String[1] $version = '0.4-2',
  String[1] $rpm_version = '0.4-2',
  String[1] $repo_url = 'file:///srv/repo',
  String[1] $repo_suite = 'stable',
  String[1] $repo_component = 'main',
  Enum['file', 'dropin'] $config_style = 'file',
  Boolean $manage_services = true,
  Enum['http', 'systemd', 'command', 'none'] $health_check = 'command',
  String[1] $health_command = '/opt/venvs/bare/bin/python -c \'import sys\'',
) {
  case $facts['os']['family'] {
    'Debian': {
      file { '/etc/apt/keyrings':
        ensure => directory,
        owner  => 'root',
        group  => 'root',
        mode   => '0755',
      }
      file { '/etc/apt/keyrings/bare.asc':
        ensure => file,
        source => 'puppet:///modules/bare/bare.asc',
        owner  => 'root',
        group  => 'root',
        mode   => '0644',
      }
      apt::source { 'bare':
        location => "${repo_url}/apt",
        release  => $repo_suite,
        repos    => $repo_component,
        keyring  => '/etc/apt/keyrings/bare.asc',
        require  => File['/etc/apt/keyrings/bare.asc'],
      }
      $package_ensure = $version
      $install_options = ['--allow-downgrades']
      Class['apt::update'] -> Package['bare']
    }
    'RedHat': {
      file { '/etc/pki/rpm-gpg/RPM-GPG-KEY-bare':
        ensure => file,
        source => 'puppet:///modules/bare/bare.asc',
        owner  => 'root',
        group  => 'root',
        mode   => '0644',
      }
      yumrepo { 'bare':
        descr         => 'bare packages published by venvpkg',
        baseurl       => "${repo_url}/rpm/${repo_suite}",
        enabled       => '1',
        gpgcheck      => '1',
        repo_gpgcheck => '1',
        gpgkey        => 'file:///etc/pki/rpm-gpg/RPM-GPG-KEY-bare',
        require       => File['/etc/pki/rpm-gpg/RPM-GPG-KEY-bare'],
        before        => Package['bare'],
      }
      $package_ensure = $rpm_version
      $install_options = []
    }
    default: {
      fail("bare: ${facts['os']['family']} is not supported; the repository serves Debian and RedHat families")
    }
  }

  package { 'bare':
    ensure          => $package_ensure,
    install_options => $install_options,
  }
}
