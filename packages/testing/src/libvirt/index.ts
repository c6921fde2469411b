export * from './ensure-libvirt.js';
