# @summary Installs fleet-app from its signed package repository, writes its
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
class fleet_app (
  String[1] $version = '1.0.0-1',
  String[1] $rpm_version = '1.0.0-1',
  String[1] $repo_url = 'https://packages.example.org',
  String[1] $repo_suite = 'stable',
  String[1] $repo_component = 'main',
  Enum['file', 'dropin'] $config_style = 'file',
  Boolean $manage_services = true,
  Enum['http', 'systemd', 'command', 'none'] $health_check = 'http',
  String[1] $health_command = '/opt/venvs/fleet-app/bin/python -c \'import sys\'',
) {
  case $facts['os']['family'] {
    'Debian': {
      file { '/etc/apt/keyrings':
        ensure => directory,
        owner  => 'root',
        group  => 'root',
        mode   => '0755',
      }
      file { '/etc/apt/keyrings/fleet-app.asc':
        ensure => file,
        source => 'puppet:///modules/fleet_app/fleet-app.asc',
        owner  => 'root',
        group  => 'root',
        mode   => '0644',
      }
      apt::source { 'fleet-app':
        location => "${repo_url}/apt",
        release  => $repo_suite,
        repos    => $repo_component,
        keyring  => '/etc/apt/keyrings/fleet-app.asc',
        require  => File['/etc/apt/keyrings/fleet-app.asc'],
      }
      $package_ensure = $version
      $install_options = ['--allow-downgrades']
      Class['apt::update'] -> Package['fleet-app']
    }
    'RedHat': {
      file { '/etc/pki/rpm-gpg/RPM-GPG-KEY-fleet-app':
        ensure => file,
        source => 'puppet:///modules/fleet_app/fleet-app.asc',
        owner  => 'root',
        group  => 'root',
        mode   => '0644',
      }
      yumrepo { 'fleet-app':
        descr         => 'fleet-app packages published by venvpkg',
        baseurl       => "${repo_url}/rpm/${repo_suite}",
        enabled       => '1',
        gpgcheck      => '1',
        repo_gpgcheck => '1',
        gpgkey        => 'file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fleet-app',
        require       => File['/etc/pki/rpm-gpg/RPM-GPG-KEY-fleet-app'],
        before        => Package['fleet-app'],
      }
      $package_ensure = $rpm_version
      $install_options = []
    }
    default: {
      fail("fleet_app: ${facts['os']['family']} is not supported; the repository serves Debian and RedHat families")
    }
  }

  package { 'fleet-app':
    ensure          => $package_ensure,
    install_options => $install_options,
  }

  $config_etc_fleet_app_app_conf = $config_style ? {
    'dropin' => '/etc/fleet-app/app.conf.d/50-site.conf',
    default  => '/etc/fleet-app/app.conf',
  }
  if $config_style == 'dropin' {
    file { '/etc/fleet-app/app.conf.d':
      ensure  => directory,
      owner   => 'root',
      group   => 'fleet-app',
      mode    => '0755',
      require => Package['fleet-app'],
    }
  }
  file { $config_etc_fleet_app_app_conf:
    ensure  => file,
    content => epp('fleet_app/etc/fleet-app/app.conf.epp'),
    owner   => 'root',
    group   => 'fleet-app',
    mode    => '0640',
    require => Package['fleet-app'],
  }

  if $manage_services {
    service { 'fleet-app.socket':
      ensure    => running,
      enable    => true,
      subscribe => Package['fleet-app'],
      before    => Service['fleet-app.service'],
    }
    service { 'fleet-app.service':
      ensure    => running,
      enable    => true,
      subscribe => [Package['fleet-app'], File[$config_etc_fleet_app_app_conf]],
    }
    if $health_check != 'none' {
      exec { 'fleet-app.service health check':
        command     => $health_check ? {
          'http'    => '/opt/venvs/fleet-app/bin/python -c \'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)\' http://127.0.0.1:18751/',
          'systemd' => '/bin/systemctl is-active --quiet fleet-app.service',
          default   => $health_command,
        },
        path        => ['/usr/bin', '/bin'],
        refreshonly => true,
        tries       => 10,
        try_sleep   => 3,
        subscribe   => Service['fleet-app.service'],
      }
    }
  }
}
